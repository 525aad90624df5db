package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/engine"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
	"github.com/fieldflow/fieldflow/generator"
	"github.com/fieldflow/fieldflow/generator/podimage"
	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// doneReason starts a check's reason for a file already done.
const doneReason = "done, nothing to run: "

// The dependency checks of a field workflow, as its DAG names them.
var fieldChecks = []string{"start-date", "box-processed", "earlier-dates-processed"}

// costLine is the engine's last line after --once (engine.Result.FormatCost).
var costLine = regexp.MustCompile(`(\d+) inputs in \S+: (\S+) workflows, (\S+) pods, (\S+) API writes per input`)

// checkCost wants at most three pods per input in the run's output, as the
// API server counted them.
func checkCost(t *testing.T, out string) {
	t.Helper()
	m := costLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no cost line in the run's output:\n%s", lastLines(out, 5))
	}
	pods, err := strconv.ParseFloat(m[3], 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cost: %s", m[0])
	if pods > 3 || pods <= 0 {
		t.Errorf("%s pods per input, want at most 3 (and some)", m[3])
	}
}

// podsOf is how many pods a workflow made: one per Pod node, and one agent
// pod for all its plugin nodes.
func podsOf(wf *wfv1.Workflow) int {
	pods, agent := 0, 0
	for _, n := range wf.Status.Nodes {
		switch n.Type {
		case wfv1.NodeTypePod:
			pods++
		case wfv1.NodeTypePlugin:
			agent = 1
		}
	}
	return pods + agent
}

// checkAgentNodes wants every check of every field workflow to be a plugin
// node (run in the agent) with its reason as its message, one pod for a
// workflow that did not process and two for one that did; and every
// start-date node's message to be what `fieldflow check` says of its file.
// (The other checks' reasons change as other files finish: a file waiting
// for one earlier date waits for the next one once that is done.)
func checkAgentNodes(t *testing.T, fieldflow, store string, wfs []wfv1.Workflow) {
	t.Helper()
	says := map[string]string{} // fieldflow check --check start-date, by key
	compared := 0
	for i := range wfs {
		wf := &wfs[i]
		if wf.Status.Phase != wfv1.WorkflowSucceeded {
			continue
		}
		if p := podsOf(wf); p > 2 || (p == 2) != (nodePhases(wf)["process"] == wfv1.NodeSucceeded) {
			t.Errorf("workflow %s made %d pods (process %s): want 1 without processing, 2 with", wf.Name, p, nodePhases(wf)["process"])
		}
		if ref := wf.Spec.WorkflowTemplateRef; ref == nil || ref.Name != "fieldflow-field" {
			continue
		}
		for _, name := range fieldChecks {
			n := nodeNamed(wf, name)
			if n == nil || n.Type != wfv1.NodeTypePlugin || n.Message == "" {
				t.Errorf("workflow %s: check %s is %s, want a plugin node with its reason as message", wf.Name, name, describe(n))
			}
		}
		key := engine.KeyOf(wf)
		if _, ok := says[key]; !ok {
			var v struct{ Reason string }
			if err := json.Unmarshal([]byte(run(t, fieldflow, "check", "--store", store, "--key", key, "--check", "start-date")), &v); err != nil {
				t.Fatal(err)
			}
			says[key] = v.Reason
		}
		// A file done now was judged before it was: by its date then.
		n, done := nodeNamed(wf, "start-date"), strings.HasPrefix(says[key], doneReason)
		if n == nil || n.Message != says[key] && !(done && (strings.HasPrefix(n.Message, doneReason) || strings.HasPrefix(n.Message, "dated "))) {
			t.Errorf("workflow %s of %s: start-date says %s, fieldflow check says %q", wf.Name, key, describe(n), says[key])
		}
		compared++
	}
	if compared == 0 {
		t.Error("no field workflow to compare its checks with fieldflow check")
	}
}

// nodeNamed is the node a task of that name ran last: its plugin or pod
// node, not the retry node around it.
func nodeNamed(wf *wfv1.Workflow, name string) *wfv1.NodeStatus {
	var found []wfv1.NodeStatus
	for _, n := range wf.Status.Nodes {
		if n.Type != wfv1.NodeTypeRetry && (n.DisplayName == name || regexp.MustCompile(`^`+regexp.QuoteMeta(name)+`\(\d+\)$`).MatchString(n.DisplayName)) {
			found = append(found, n)
		}
	}
	if len(found) == 0 {
		return nil
	}
	slices.SortFunc(found, func(a, b wfv1.NodeStatus) int { return a.StartedAt.Compare(b.StartedAt.Time) })
	return &found[len(found)-1]
}

func describe(n *wfv1.NodeStatus) string {
	if n == nil {
		return "missing"
	}
	return fmt.Sprintf("a %s node (message %q)", n.Type, n.Message)
}

// TestAgentKilled SIGKILLs the processes of agent pods while their
// workflows run (Argo's agent and the fieldflow plugin sidecar): the
// kubelet restarts them, as restartPolicy OnFailure asks, the restarted
// agent picks up the workflow's open tasks, and the run ends with every
// file in the state the in-process engine gives it.
func TestAgentKilled(t *testing.T) {
	local, fieldflow := binaries(t)
	store, direct, state := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "state")
	for _, s := range []string{store, direct} {
		run(t, fieldflow, "sample", "--store", s, "--faults", "--boxes", "1")
	}
	w := startWatch(t, local, state, nil, "--once", "--store", store, "--parallel", "2", "--images", slowImages(t, local))
	cfg, ns := clientConfig(t, names.Kubeconfig(state))
	kube := kubernetes.NewForConfigOrDie(cfg)
	killed := map[string]bool{}
	deadline := time.Now().Add(5 * time.Minute)
	for len(killed) < 3 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		pods, err := kube.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "workflows.argoproj.io/component=agent"})
		if err != nil {
			continue
		}
		for _, p := range pods.Items {
			if p.Status.Phase != corev1.PodRunning || killed[p.Name] {
				continue
			}
			if n := killPodProcesses(t, filepath.Join(state, "pods", p.Name)); n > 0 {
				killed[p.Name] = true
				t.Logf("killed %d processes of agent pod %s", n, p.Name)
			}
		}
	}
	if len(killed) == 0 {
		t.Fatalf("no running agent pod's processes to kill in 5 minutes\n%s", w.tail())
	}
	select {
	case err := <-w.exited:
		w.stopped = true
		if err != nil {
			t.Fatalf("run --once after the kills: %v\n%s", err, w.tail())
		}
	case <-time.After(10 * time.Minute):
		t.Fatalf("run --once not done 10 minutes after the kills\n%s", w.tail())
	}
	log, _ := os.ReadFile(w.log)
	t.Logf("%d agent pods killed, %d container restarts in the engine's log", len(killed), strings.Count(string(log), "container failed; restarting it"))
	sameAsDirect(t, fieldflow, store, direct)
}

// engineImages is the image store the engine at local uses by default:
// .cache/image beside .cache/bin, where make image writes it.
func engineImages(local string) *podimage.Store {
	return &podimage.Store{Dir: filepath.Join(filepath.Dir(filepath.Dir(local)), "image")}
}

// slowImages is an image store whose fieldflow image runs a script that
// sleeps 2 s before it starts the image's real binary, so that pods and
// sidecars live long enough to be caught running. It returns the store's
// folder, for --images.
func slowImages(t *testing.T, local string) string {
	t.Helper()
	images := engineImages(local)
	tag := generator.DefaultConfig().Image
	real, err := images.Unpack(tag)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := real.Program(podimage.Entrypoint)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	slow := filepath.Join(dir, "slow-fieldflow")
	// The image's PATH is its own (/usr/local/bin): the script names
	// this machine's sleep by its path.
	script := "#!/bin/sh\n/bin/sleep 2\nexec " + bin + ` "$@"` + "\n"
	if err := os.WriteFile(slow, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	idx, err := podimage.Index(podimage.Options{Binaries: map[string]string{runtime.GOOS + "/" + runtime.GOARCH: slow}, CACerts: podimage.CACerts})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := podimage.Write(dir, tag, idx); err != nil {
		t.Fatal(err)
	}
	return dir
}

// killPodProcesses SIGKILLs every process whose environment or command
// line names the pod's folder, and returns how many it killed.
func killPodProcesses(t *testing.T, folder string) int {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	n := 0
	for _, p := range procs {
		env, _ := os.ReadFile(filepath.Join(p, "environ"))
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		if !strings.Contains(string(env), folder+"/") && !strings.Contains(string(cmdline), folder+"/") {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(p))
		if err == nil && syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

// TestPluginPermanentError submits, on the shared engine, a workflow of
// the generated field template for a key that is no input of the store:
// the first check's plugin node replies a permanent error (exit code 3),
// which the generated retry expression does not retry, so the workflow
// fails after one attempt instead of hanging or retrying (Argo issue
// 13444 reports retries of agent nodes hanging).
func TestPluginPermanentError(t *testing.T) {
	e := sharedUp(t)
	cfg, ns := clientConfig(t, e.kubeconfig)
	argo := wfclientset.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	key := "fields/input/00000000000000000000000000000000/fields_2025-06-03.jsonl" // no such file
	wf, err := argo.ArgoprojV1alpha1().Workflows(ns).Create(ctx, &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "permanent-"},
		Spec: wfv1.WorkflowSpec{
			WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: "fieldflow-field"},
			Arguments:           wfv1.Arguments{Parameters: []wfv1.Parameter{{Name: pipeline.KeyParam, Value: wfv1.AnyStringPtr(key)}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for wf.Status.Phase != wfv1.WorkflowFailed {
		if wf.Status.Phase.Completed() || ctx.Err() != nil {
			t.Fatalf("workflow %s is %s (%s), want Failed", wf.Name, wf.Status.Phase, wf.Status.Message)
		}
		time.Sleep(time.Second)
		if wf, err = argo.ArgoprojV1alpha1().Workflows(ns).Get(ctx, wf.Name, metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range fieldChecks {
		var tries []wfv1.NodeStatus
		for _, n := range wf.Status.Nodes {
			if n.Type == wfv1.NodeTypePlugin && strings.HasPrefix(n.DisplayName, name+"(") {
				tries = append(tries, n)
			}
		}
		if len(tries) != 1 {
			t.Errorf("check %s ran %d times, want once: a permanent error is not retried", name, len(tries))
			continue
		}
		n := tries[0]
		code := ""
		if n.Outputs != nil && n.Outputs.ExitCode != nil {
			code = *n.Outputs.ExitCode
		}
		if n.Phase != wfv1.NodeFailed || code != strconv.Itoa(pipeline.ExitPermanent) || !strings.Contains(n.Message, "no such input") {
			t.Errorf("check %s: %s, exit code %q, message %q; want Failed with exit code 3 and 'no such input'", name, n.Phase, code, n.Message)
		}
	}
	if p := podsOf(wf); p != 1 {
		t.Errorf("the failed workflow made %d pods, want its agent's only", p)
	}
}
