package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/cluster"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/engine"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/metrics"
)

// runOptions are the flags of `fieldflow-local run`.
type runOptions struct {
	engine      engine.Options
	state       string
	once        bool
	metricsAddr string
	pprof       bool
}

func parseRun(args []string) (runOptions, error) {
	var o runOptions
	fs := flag.NewFlagSet("fieldflow-local run", flag.ContinueOnError)
	fs.StringVar(&o.engine.Store, "store", os.Getenv("FIELDFLOW_STORE"), "s3://BUCKET or a folder")
	fs.StringVar(&o.engine.Manifests, "manifests", "", "folder holding templates/ and argo-events/ (default: the copies built in)")
	fs.StringVar(&o.state, "state", filepath.Join(".cache", "local"), "state folder: etcd, certificates, kubeconfig, pod folders")
	fs.StringVar(&o.engine.Fieldflow, "fieldflow", "", "fieldflow binary the pods run (default: beside this one)")
	fs.IntVar(&o.engine.Parallel, "parallel", runtime.NumCPU(), "pods run at once")
	fs.BoolVar(&o.once, "once", false, "reconcile, wait until nothing more can run, then exit")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "127.0.0.1:9090", "where the controller's /metrics is served")
	fs.BoolVar(&o.pprof, "pprof", false, "also serve Go's profiler at /debug/pprof/ beside /metrics (off by default: it shows any local process the engine's internals)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.engine.Store == "" {
		return o, errors.New("--store is required")
	}
	if o.engine.Fieldflow == "" {
		bin, err := podBinary()
		if err != nil {
			return o, err
		}
		o.engine.Fieldflow = bin
	}
	return o, nil
}

// podBinary finds the fieldflow the pods run, beside this binary: the
// image's build (fieldflow-pod, `make local` writes it) when it is there,
// since it starts in a third of the time, else the full CLI.
func podBinary() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(self)
	for _, name := range []string{"fieldflow-pod", "fieldflow"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name), nil
		}
	}
	return "", fmt.Errorf("no fieldflow binary beside %s: build it there or pass --fieldflow", self)
}

// runEngine starts the cluster, applies the manifests and runs pods until
// ctx ends or, with --once, until nothing more can run.
func runEngine(ctx context.Context, o runOptions) error {
	m, err := engine.LoadManifests(o.engine.Manifests)
	if err != nil {
		return err
	}
	c, err := cluster.StartWithOptions(ctx, cluster.Options{StateDir: o.state, Namespace: m.Namespace, ComponentLogLevel: slog.LevelError})
	if err != nil {
		return err
	}
	defer c.Stop()
	slog.Info("local cluster up", "kubeconfig", c.Kubeconfig, "try", "kubectl --kubeconfig "+c.Kubeconfig+" get wf -n "+m.Namespace)
	if _, err := metrics.Serve(ctx, o.metricsAddr, o.pprof); err != nil {
		return err
	}
	o.engine.WorkDir = filepath.Join(c.StateDir, "pods")
	e, err := engine.New(ctx, c.Config, o.engine, slog.Default())
	if err != nil {
		return err
	}
	k, err := e.Kubelet(c.Config)
	if err != nil {
		return err
	}
	kctx, stopKubelet := context.WithCancel(ctx)
	defer stopKubelet()
	go func() {
		if err := k.Run(kctx); err != nil && !errors.Is(err, context.Canceled) {
			slog.Error("kubelet stopped: no pod runs", "err", err)
		}
	}()
	if err := c.Ready(); err != nil {
		return err
	}
	if !o.once {
		go func() {
			if err := e.Watch(kctx); err != nil && !errors.Is(err, context.Canceled) {
				slog.Error("watch", "err", err)
			}
		}()
		select {
		case <-ctx.Done():
			return nil
		case err := <-c.Failed():
			return err
		}
	}
	phases, err := e.Once(ctx, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Println(engine.FormatPhases(phases))
	return nil
}
