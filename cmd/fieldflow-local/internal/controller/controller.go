// Package controller installs what Argo Workflows needs in a cluster (CRDs,
// namespace, ServiceAccount, ConfigMap) and runs Argo's own workflow
// controller in this process, namespaced and without leader election.
package controller

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	cmdutil "github.com/argoproj/argo-workflows/v3/util/cmd"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	wfcontroller "github.com/argoproj/argo-workflows/v3/workflow/controller"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/logbridge"
)

// DefaultExecutorImage is the argoexec image of the linked Argo version.
const DefaultExecutorImage = "argoproj/argoexec:v3.7.3"

// readyMessage is logged by the controller once its informers have synced
// and it starts its workers.
const readyMessage = "Starting workflow garbage collector controller"

// Options configure the controller.
type Options struct {
	Namespace     string       // the one namespace it manages
	CRDDir        string       // Argo's CRDs; empty: found in the module cache
	ExecutorImage string       // empty: DefaultExecutorImage
	LogHandler    slog.Handler // where the controller's logs go
	LogLevel      slog.Level   // the controller's records below it are dropped
	// PodGCDelay is how long a pod that podGC deletes is kept after it
	// finishes (configmap podGCDeleteDelayDuration); 0 keeps Argo's 5 s.
	PodGCDelay time.Duration
}

// Controller is a running Argo workflow controller.
type Controller struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Install creates or updates Argo's and Argo Events' CRDs and the
// namespace's objects.
func Install(ctx context.Context, cfg *rest.Config, o Options) error {
	dir := o.CRDDir
	if dir == "" {
		found, err := CRDDir()
		if err != nil {
			return err
		}
		dir = found
	}
	events, err := EventsCRDDir()
	if err != nil {
		return err
	}
	if err := InstallCRDs(ctx, cfg, dir, events); err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	return installNamespace(ctx, client, o)
}

// Run starts the controller and returns once its caches have synced.
// It runs with the rendered Settings, as a cluster's controller does.
func Run(ctx context.Context, cfg *rest.Config, o Options) (*Controller, error) {
	s, err := RenderedSettings()
	if err != nil {
		return nil, err
	}
	setEnv(s)
	initGLogLevel()
	ready := routeLogs(o)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = s.QPS, s.Burst
	wfc, err := newController(runCtx, cfg, o, s.ExecutorPlugins)
	if err != nil {
		cancel()
		return nil, err
	}
	c := &Controller{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		wfc.Run(runCtx, s.Workers, 2, 2, 2, 2)
	}()
	if err := c.waitReady(ctx, ready); err != nil {
		c.Stop(10 * time.Second)
		return nil, err
	}
	return c, nil
}

// routeLogs sends the controller's logs to o.LogHandler and returns a channel
// closed once the controller logs readyMessage.
func routeLogs(o Options) <-chan struct{} {
	ready := make(chan struct{})
	var once sync.Once
	logbridge.Logrus(o.LogHandler, o.LogLevel, func(msg string) {
		if strings.HasPrefix(msg, readyMessage) {
			once.Do(func() { close(ready) })
		}
	})
	return ready
}

// initGLogLevel registers klog's flags on the process's flag set, with -v 0:
// the controller passes the value of -v to argoexec as --gloglevel, and an
// empty value would make every workflow pod fail to parse its arguments.
func initGLogLevel() {
	if flag.Lookup("v") == nil {
		cmdutil.SetGLogLevel(0)
	}
}

// setEnv sets the environment the controller package reads: no leader
// election (one controller, in this process), and the rendered settings.
func setEnv(s Settings) {
	_ = os.Setenv("LEADER_ELECTION_DISABLE", "true")
	for k, v := range s.Env {
		_ = os.Setenv(k, v)
	}
}

func newController(ctx context.Context, cfg *rest.Config, o Options, plugins bool) (*wfcontroller.WorkflowController, error) {
	cfg = rest.AddUserAgent(rest.CopyConfig(cfg), "fieldflow-local/argo-workflow-controller")
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	wf, err := wfclientset.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("argo client: %w", err)
	}
	image := o.ExecutorImage
	if image == "" {
		image = DefaultExecutorImage
	}
	wfc, err := wfcontroller.NewWorkflowController(ctx, cfg, kube, wf, o.Namespace, o.Namespace,
		image, "", "text", common.ConfigMapName, plugins)
	if err != nil {
		return nil, fmt.Errorf("create workflow controller: %w", err)
	}
	return wfc, nil
}

func (c *Controller) waitReady(ctx context.Context, ready <-chan struct{}) error {
	select {
	case <-ready:
		return nil
	case <-c.done:
		return fmt.Errorf("workflow controller exited before ready")
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("workflow controller not ready after 2 minutes")
	case <-ctx.Done():
		return fmt.Errorf("workflow controller start: %w", ctx.Err())
	}
}

// Stop stops the controller and waits up to timeout for its workers.
func (c *Controller) Stop(timeout time.Duration) {
	c.cancel()
	select {
	case <-c.done:
		slog.Info("workflow controller stopped")
	case <-time.After(timeout):
		slog.Warn("workflow controller did not stop in time", "timeout", timeout)
	}
}
