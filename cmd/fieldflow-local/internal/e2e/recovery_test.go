package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// progressLine is the plain form of `run --once`'s progress, as a pipe or
// a CI log gets it.
var progressLine = regexp.MustCompile(`(?m)^\[[0-9hms.]+\] workflows: .+ · files: \d+ done.*, \d+ left$`)

// TestEngineKilled SIGKILLs the engine in the middle of the sample (one box), while
// pods run, and starts `run --once` again on the same state: the pods the
// dead engine ran are failed and retried by the templates' rules, and the
// run ends with every file in the state the in-process engine gives it.
// The second run's progress is read in its plain form.
func TestEngineKilled(t *testing.T) {
	local, fieldflow := binaries(t)
	store, direct, state := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "state")
	for _, s := range []string{store, direct} {
		run(t, fieldflow, "sample", "--store", s, "--faults", "--boxes", "1")
	}
	running := killMidRun(t, local, store, state)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, local, "run", "--once", "--store", store, "--state", state, "--parallel", "2", "--metrics-addr", "127.0.0.1:0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run --once after the kill: %v\n%s\n%s", err, out, lastLines(stderr.String(), 40))
	}
	t.Logf("run --once after the kill took %s: %s", time.Since(start).Round(time.Second), strings.TrimSpace(string(out)))
	lines := progressLine.FindAllString(stderr.String(), -1)
	if len(lines) == 0 {
		t.Errorf("no progress line in the run's log:\n%s", lastLines(stderr.String(), 20))
	} else {
		t.Logf("%d progress lines, the last: %s", len(lines), lines[len(lines)-1])
	}
	lost := 0
	for _, line := range strings.Split(stderr.String(), "\n") {
		for _, pod := range running {
			if strings.Contains(line, "failing a pod lost in a restart") && strings.Contains(line, "pod="+pod) {
				lost++
			}
		}
	}
	// Each pod of the killed run sleeps 2 s before its process starts, so
	// a pod listed as running is still running when the kill lands, bar
	// the last milliseconds of one; not all of them can be in those.
	t.Logf("%d of the %d pods running at the kill were failed as lost at the next start", lost, len(running))
	if lost == 0 {
		t.Errorf("none of the pods running at the kill (%v) was failed at the next start", running)
	}
	sameAsDirect(t, fieldflow, store, direct)
}

// killMidRun starts `run --once` and SIGKILLs it once some workflows have
// succeeded while workflow pods (not agents) run. Its pods run fieldflow after a 2 s sleep, so
// that a pod seen running is still running when the kill lands. It
// returns the pods that were running.
func killMidRun(t *testing.T, local, store, state string) []string {
	t.Helper()
	w := startWatch(t, local, state, nil, "--once", "--store", store, "--parallel", "2", "--images", slowImages(t, local))
	cfg, ns := clientConfig(t, names.Kubeconfig(state))
	kube := kubernetes.NewForConfigOrDie(cfg)
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		pods, err := kube.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			continue
		}
		succeeded := 0
		for _, wf := range w.workflows(t.Context()) {
			if wf.Status.Phase == wfv1.WorkflowSucceeded {
				succeeded++
			}
		}
		// Workflow pods only: an agent pod is started again after an
		// engine restart, not failed (its nodes are the agent's to redo).
		var running []string
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.Labels[common.LabelKeyComponent] != "agent" {
				running = append(running, p.Name)
			}
		}
		if succeeded >= 3 && len(running) > 0 {
			if err := w.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-w.exited
			w.stopped = true
			t.Logf("engine killed with %d workflows succeeded, pods running: %v", succeeded, running)
			return running
		}
	}
	t.Fatalf("no moment with 3 workflows succeeded and a workflow pod running in 5 minutes\n%s", w.tail())
	return nil
}
