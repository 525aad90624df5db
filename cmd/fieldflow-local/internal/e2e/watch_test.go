package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/engine"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// binaries returns fieldflow-local and the fieldflow beside it, or skips.
func binaries(t *testing.T) (local, fieldflow string) {
	t.Helper()
	if os.Getenv("FIELDFLOW_LOCAL_E2E") != "1" {
		t.Skip("set FIELDFLOW_LOCAL_E2E=1 to run (builds and starts kube-apiserver and Argo's controller)")
	}
	local = os.Getenv("FIELDFLOW_LOCAL_BIN")
	if local == "" {
		t.Fatal("FIELDFLOW_LOCAL_BIN must name fieldflow-local, with fieldflow beside it (make local builds both)")
	}
	return local, filepath.Join(filepath.Dir(local), "fieldflow")
}

// watcher is `fieldflow-local run` following a store, as a user runs it.
type watcher struct {
	t     *testing.T
	cmd   *exec.Cmd
	log   string // its stderr
	argo  wfclientset.Interface
	ns    string
	start time.Time

	exited  chan error
	stopped bool
}

// startWatch starts the engine on state and returns once its kubeconfig
// exists: the engine writes it when everything is up.
func startWatch(t *testing.T, local, state string, env []string, args ...string) *watcher {
	t.Helper()
	log, err := os.CreateTemp(t.TempDir(), "engine-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	args = append([]string{"run", "--state", state, "--metrics-addr", "127.0.0.1:0"}, args...)
	w := &watcher{t: t, cmd: exec.Command(local, args...), log: log.Name(), start: time.Now()}
	w.cmd.Env = append(os.Environ(), env...)
	w.cmd.Stderr = log
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- w.cmd.Wait() }()
	kubeconfig := names.Kubeconfig(state)
	for {
		if _, err := os.Stat(kubeconfig); err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("engine exited before it was up: %v\n%s", err, w.tail())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Since(w.start) > 5*time.Minute {
			w.cmd.Process.Kill()
			t.Fatalf("engine not up after 5 minutes\n%s", w.tail())
		}
	}
	t.Logf("engine up in %s", time.Since(w.start).Round(time.Second))
	cfg, ns := clientConfig(t, kubeconfig)
	w.argo, w.ns = wfclientset.NewForConfigOrDie(cfg), ns
	w.exited = exited
	t.Cleanup(w.Stop)
	return w
}

func (w *watcher) tail() string {
	b, _ := os.ReadFile(w.log)
	return lastLines(string(b), 40)
}

// Stop sends SIGINT and waits for the engine to exit.
func (w *watcher) Stop() {
	if w.stopped {
		return
	}
	w.stopped = true
	_ = w.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-w.exited:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			w.t.Errorf("engine exit: %v", err)
		}
		if w.t.Failed() {
			w.t.Logf("engine log:\n%s", w.tail())
		}
	case <-time.After(time.Minute):
		_ = w.cmd.Process.Kill()
		w.t.Errorf("engine still running a minute after SIGINT")
	}
}

// workflows lists every workflow of the engine's namespace.
func (w *watcher) workflows(ctx context.Context) []wfv1.Workflow {
	w.t.Helper()
	list, err := w.argo.ArgoprojV1alpha1().Workflows(w.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		w.t.Fatalf("list workflows: %v", err)
	}
	return list.Items
}

// settle waits until done holds while no workflow is running, twice a
// second apart, or fails the test after limit.
func (w *watcher) settle(limit time.Duration, what string, done func() bool) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start, quiet := time.Now(), 0
	for quiet < 2 {
		select {
		case <-ctx.Done():
			w.t.Fatalf("%s: not reached in %s\n%s", what, limit, w.tail())
		case <-time.After(time.Second):
		}
		running := 0
		for _, wf := range w.workflows(ctx) {
			if !wf.Status.Phase.Completed() {
				running++
			}
		}
		if running > 0 || !done() {
			quiet = 0
			continue
		}
		quiet++
	}
	w.t.Logf("%s after %s", what, time.Since(start).Round(time.Second))
}

func byKey(wfs []wfv1.Workflow, key string) []*wfv1.Workflow {
	var out []*wfv1.Workflow
	for i := range wfs {
		if engine.KeyOf(&wfs[i]) == key {
			out = append(out, &wfs[i])
		}
	}
	return out
}

// nodePhases maps the DAG tasks' display names to their phases.
func nodePhases(wf *wfv1.Workflow) map[string]wfv1.NodePhase {
	out := map[string]wfv1.NodePhase{}
	for _, n := range wf.Status.Nodes {
		out[n.DisplayName] = n.Phase
	}
	return out
}

// attempts returns the exit codes of the pods the retry node of task ran,
// in order: one per try.
func attempts(wf *wfv1.Workflow, task string) []int {
	var codes []int
	for _, n := range wf.Status.Nodes {
		if n.DisplayName != task || n.Type != wfv1.NodeTypeRetry {
			continue
		}
		for i := range n.Children {
			pod, ok := wf.Status.Nodes[n.Children[i]]
			if !ok || pod.Outputs == nil || pod.Outputs.ExitCode == nil {
				codes = append(codes, -1)
				continue
			}
			code, err := strconv.Atoi(*pod.Outputs.ExitCode)
			if err != nil {
				code = -1
			}
			codes = append(codes, code)
		}
	}
	return codes
}

// output is an output parameter of the node of task, or "".
func output(wf *wfv1.Workflow, task, name string) string {
	for _, n := range wf.Status.Nodes {
		if n.DisplayName != task || n.Outputs == nil {
			continue
		}
		for _, p := range n.Outputs.Parameters {
			if p.Name == name && p.Value != nil {
				return strings.TrimSpace(p.Value.String())
			}
		}
	}
	return ""
}
