package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/cluster"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/engine"
)

// runOptions are the flags of `fieldflow-local run`.
type runOptions struct {
	engine      engine.Options
	state       string
	once        bool
	metricsAddr string
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
	if err := serveMetrics(ctx, o.metricsAddr); err != nil {
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

// serveMetrics serves the registry Argo's controller reports to, on a
// loopback address: the controller's own server would listen on every
// interface.
func serveMetrics(ctx context.Context, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(prometheus.DefaultGatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	go func() { <-ctx.Done(); srv.Close() }()
	slog.Info("metrics", "url", "http://"+l.Addr().String()+"/metrics")
	return nil
}
