// Command fieldflow-local is a local Argo engine in one process: an embedded
// etcd, kube-apiserver and Argo's workflow controller, with their state in a
// folder. Workflows are submitted with the kubeconfig it writes there.
//
// There is no scheduler and no kubelet: the controller creates a workflow's
// pods, which stay Pending until something else binds and runs them.
//
// Build with the Kubernetes version stamped, or clients see v0.0.0:
//
//	go build -ldflags "-X k8s.io/component-base/version.gitVersion=v1.33.1" ./cmd/fieldflow-local
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/cluster"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		slog.Error("fieldflow-local failed", "err", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch {
	case len(args) > 0 && args[0] == "up":
		o, err := parseUp(args[1:])
		if err != nil {
			return err
		}
		return up(ctx, o)
	case len(args) > 0 && args[0] == "run":
		o, err := parseRun(args[1:])
		if err != nil {
			return err
		}
		return runEngine(ctx, o)
	}
	fmt.Fprintln(os.Stderr, "usage: fieldflow-local up --state DIR | run --store S [--once]   (-h for the flags)")
	return errors.New("no subcommand")
}

func parseUp(args []string) (cluster.Options, error) {
	var o cluster.Options
	var level, componentLevel string
	fs := flag.NewFlagSet("fieldflow-local up", flag.ContinueOnError)
	fs.StringVar(&o.StateDir, "state", "", "state folder: etcd data, certificates, token, kubeconfig (required)")
	fs.StringVar(&o.Namespace, "namespace", cluster.DefaultNamespace, "namespace the workflow controller manages")
	fs.StringVar(&o.CRDDir, "crds", "", "folder of Argo's CRDs (default: manifests/base/crds/full of argo-workflows in the Go module cache)")
	fs.StringVar(&o.ExecutorImage, "executor-image", "", "argoexec image for workflow pods (default argoproj/argoexec:v3.7.3)")
	fs.StringVar(&level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&componentLevel, "component-log-level", "warn", "log level of the apiserver and controller")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.StateDir == "" {
		return o, errors.New("--state is required")
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return o, fmt.Errorf("--log-level: %w", err)
	}
	if err := o.ComponentLogLevel.UnmarshalText([]byte(componentLevel)); err != nil {
		return o, fmt.Errorf("--component-log-level: %w", err)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})))
	return o, nil
}

func up(ctx context.Context, o cluster.Options) error {
	c, err := cluster.StartWithOptions(ctx, o)
	if err != nil {
		return err
	}
	defer c.Stop()
	if err := c.Ready(); err != nil {
		return err
	}
	fmt.Println(c.Kubeconfig)
	slog.Info("fieldflow-local up", "kubeconfig", c.Kubeconfig, "namespace", c.Namespace,
		"etcd", c.Timings.Etcd, "apiserver", c.Timings.APIServer,
		"installed", c.Timings.Installed, "controller", c.Timings.Controller, "rss_mib", rssMiB())
	select {
	case <-ctx.Done():
		slog.Info("stopping")
		return nil
	case err := <-c.Failed():
		return err
	}
}

// rssMiB is this process's resident memory, from /proc/self/statm.
func rssMiB() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(data), &size, &resident); err != nil {
		return -1
	}
	return resident * int64(os.Getpagesize()) >> 20
}
