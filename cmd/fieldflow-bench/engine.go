package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// engine is one `fieldflow-local run` following a store, in a temporary
// folder of its own, with an Argo client on its API server. The bench runs
// one at a time: the machines it runs on have few cores.
type engine struct {
	dir     string
	state   string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	argo    wfclientset.Interface
	started time.Time
	up      time.Duration // start until the kubeconfig exists: everything but the event path is up
}

// startEngine starts the engine on store and returns once its kubeconfig
// exists, which it writes when etcd, the API server and Argo's controller
// are up.
func startEngine(ctx context.Context, local, store string) (*engine, error) {
	dir, err := os.MkdirTemp("", "fieldflow-engine-")
	if err != nil {
		return nil, err
	}
	e := &engine{dir: dir, state: filepath.Join(dir, "state"), done: make(chan struct{})}
	log, err := os.Create(e.logPath())
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer log.Close()
	e.cmd = exec.Command(local, "run", "--store", store, "--state", e.state, "--metrics-addr", "127.0.0.1:0")
	e.cmd.Stderr = log
	e.started = time.Now()
	if err := e.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { _ = e.cmd.Wait(); close(e.done) }()
	kubeconfig := names.Kubeconfig(e.state)
	if err := waitFile(ctx, kubeconfig, 5*time.Minute, e.done); err != nil {
		return nil, e.fail(err)
	}
	e.up = time.Since(e.started)
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err == nil {
		e.argo, err = wfclientset.NewForConfig(cfg)
	}
	if err != nil {
		return nil, e.fail(err)
	}
	return e, nil
}

func (e *engine) logPath() string { return filepath.Join(e.dir, "engine.log") }

// fail stops the engine and returns err with the end of its log, which
// says why far better than a timeout does.
func (e *engine) fail(err error) error {
	log, _ := os.ReadFile(e.logPath())
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	e.stop()
	return fmt.Errorf("engine: %w\n%s", err, strings.Join(lines[max(0, len(lines)-30):], "\n"))
}

// stop ends the engine as a user does (SIGINT, so it stops its event path
// too), kills it after a minute and removes its folder.
func (e *engine) stop() {
	_ = e.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-e.done:
	case <-time.After(time.Minute):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
	os.RemoveAll(e.dir)
}

// settle returns once the engine's start-up reconcile Workflow has
// finished, so that it does not share the cores with the first timed
// upload. The engine submits it when it starts following the store: on
// MinIO after the event path is ready, on a folder right before the
// watcher's first listing, which the reconcile's pod outlasts by far. A
// reconcile that never shows is only a warning: uploads are still followed.
func (e *engine) settle(ctx context.Context) {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		list, err := e.argo.ArgoprojV1alpha1().Workflows(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, wf := range list.Items {
				ref := wf.Spec.WorkflowTemplateRef
				if ref != nil && ref.Name == pipeline.ReconcileTemplate && wf.Status.Phase.Completed() {
					return
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "fieldflow-bench: the engine's start-up reconcile did not finish in 3 minutes; timing anyway")
}

// unfinished selects the Workflows Argo has not labelled completed,
// those just created included.
var unfinished = metav1.ListOptions{LabelSelector: common.LabelKeyCompleted + "!=true", Limit: 1}

// idle returns once no Workflow is unfinished, polled every 100 ms. A box
// Workflow goes on after its output (release, then submit-field), and its
// pods would share the cores with the next upload's: each upload is timed
// on an idle engine, as the by-hand baseline runs on an idle machine.
func (e *engine) idle(ctx context.Context, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		list, err := e.argo.ArgoprojV1alpha1().Workflows(metav1.NamespaceAll).List(ctx, unfinished)
		if err == nil && len(list.Items) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "fieldflow-bench: Workflows still running after %s; timing the next upload anyway\n", limit)
}
