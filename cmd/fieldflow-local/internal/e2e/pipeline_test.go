package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/engine"
)

// TestSampleThroughArgo runs the demo's data through the generated
// templates on Argo's controller (`fieldflow run --once`) and checks that
// every file ends in the state the in-process engine gives it, and that
// the dependency checks ran as workflow nodes.
func TestSampleThroughArgo(t *testing.T) {
	local, fieldflow := binaries(t)
	argoStore, directStore, state := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "state")
	// Three boxes of the five `make demo` runs: every fault and state is
	// there, in three fifths of the suite's largest case.
	for _, store := range []string{argoStore, directStore} {
		run(t, fieldflow, "sample", "--store", store, "--faults", "--boxes", "3")
	}
	start := time.Now()
	out := run(t, fieldflow, "run", "--once", "--store", argoStore, "--state", state, "--parallel", "8", "--metrics-addr", "127.0.0.1:0")
	t.Logf("run --once through Argo took %s\n%s", time.Since(start).Round(time.Second), lastLines(out, 2))
	checkCost(t, out)
	direct := sameAsDirect(t, fieldflow, argoStore, directStore)
	checkNodes(t, local, fieldflow, argoStore, state, direct)
}

// sameAsDirect runs the in-process engine on direct, a copy of the data
// the Argo engine ran on in store, and wants every input in the same
// state in both. It returns the in-process states.
func sameAsDirect(t *testing.T, fieldflow, store, direct string) map[string]string {
	t.Helper()
	run(t, fieldflow, "run", "--once", "--engine", "direct", "--store", direct)
	got, want := states(t, fieldflow, store), states(t, fieldflow, direct)
	if len(got) == 0 || len(got) != len(want) {
		t.Fatalf("the Argo engine judged %d inputs, the in-process one %d", len(got), len(want))
	}
	for key, s := range want {
		if got[key] != s {
			t.Errorf("%s: %s through Argo, %s in process", key, got[key], s)
		}
	}
	return want
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	return runEnv(t, nil, bin, args...)
}

// runEnv runs bin with env added to this process's environment.
func runEnv(t *testing.T, env []string, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s\n%s", filepath.Base(bin), args, err, out, lastLines(stderr.String(), 30))
	}
	return string(out)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// verdict is an input's line of `fieldflow status --json`.
type verdict struct {
	Key, State, Reason string
	Ready              bool
}

func verdicts(t *testing.T, fieldflow, store string, env ...string) []verdict {
	t.Helper()
	var vs []verdict
	if err := json.Unmarshal([]byte(runEnv(t, env, fieldflow, "status", "--json", "--store", store)), &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

// states is every input's state, by key.
func states(t *testing.T, fieldflow, store string, env ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, v := range verdicts(t, fieldflow, store, env...) {
		out[v.Key] = v.State
	}
	return out
}

// checkNodes brings the engine back up (`up`) on the run's state and store
// and checks the field workflows it ran.
func checkNodes(t *testing.T, local, fieldflow, store, state string, want map[string]string) {
	dir := t.TempDir()
	e := &upEngine{dir: dir, store: store, state: state, log: filepath.Join(dir, "engine.log")}
	if err := e.start(local); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.stop(); err != nil {
			t.Errorf("stop fieldflow-local up: %v", err)
		}
	})
	cfg, _ := clientConfig(t, e.kubeconfig)
	argo := wfclientset.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := argo.ArgoprojV1alpha1().Workflows("fieldflow").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkFieldNodes(t, list.Items, want)
	checkAgentNodes(t, fieldflow, store, list.Items)
}

// checkFieldNodes wants the dependency checks as nodes of the field
// workflows: one workflow that processed its file, one that found it
// waiting and Succeeded with process skipped, and every workflow of an
// out-of-range file the same, never trying to process it.
func checkFieldNodes(t *testing.T, wfs []wfv1.Workflow, want map[string]string) {
	t.Helper()
	var processed, waiting bool
	fields := 0
	for _, wf := range wfs {
		if ref := wf.Spec.WorkflowTemplateRef; ref == nil || ref.Name != "fieldflow-field" {
			continue
		}
		fields++
		nodes := nodePhases(&wf)
		checks := nodes["start-date"] == wfv1.NodeSucceeded && nodes["box-processed"] == wfv1.NodeSucceeded &&
			nodes["earlier-dates-processed"] == wfv1.NodeSucceeded
		skipped := checks && nodes["process"] == wfv1.NodeSkipped && nodes["not-ready"] == wfv1.NodeSucceeded
		if want[engine.KeyOf(&wf)] == "out-of-range" && (wf.Status.Phase != wfv1.WorkflowSucceeded || !skipped) {
			t.Errorf("workflow %s of out-of-range %s: %s, nodes %v; want Succeeded with process skipped",
				wf.Name, engine.KeyOf(&wf), wf.Status.Phase, nodes)
		}
		if wf.Status.Phase != wfv1.WorkflowSucceeded {
			continue
		}
		switch {
		case checks && nodes["process"] == wfv1.NodeSucceeded && nodes["not-ready"] == wfv1.NodeSkipped:
			processed = true
		case skipped:
			waiting = true
		}
	}
	if !processed || !waiting {
		t.Errorf("among %d field workflows: one processed with its checks as nodes: %v; one waiting, Succeeded with process skipped: %v",
			fields, processed, waiting)
	}
}
