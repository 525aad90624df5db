// Command fieldflow-local is a local Argo engine in one process: an embedded
// etcd, kube-apiserver and Argo's workflow controller, the generated
// manifests applied, and the process kubelet, which binds the workflows'
// pods, runs their main containers as local processes and serves their
// logs. Its state is in a folder; clients (kubectl, argo) use the
// kubeconfig it writes there once everything is up.
//
//	fieldflow-local up --store S    the engine, until interrupted: poke at it with argo and kubectl
//	fieldflow-local run --store S   the same, plus the store's uploads turned into workflows
//	                                (--once: every input, until nothing more can run)
//	fieldflow-local demo-minio --minio BIN
//	                                the sample uploaded to a new MinIO while run listens
//
// Build with the Kubernetes version stamped, or clients see v0.0.0:
//
//	go build -ldflags "-X k8s.io/component-base/version.gitVersion=v1.33.1" ./cmd/fieldflow-local
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/agent"
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
	case len(args) > 0 && args[0] == "demo-minio":
		o, err := parseDemo(args[1:])
		if err != nil {
			return err
		}
		return demoMinio(ctx, o)
	case len(args) > 0 && args[0] == "agent":
		// An agent pod's containers, as the process kubelet runs them.
		return agent.Main(args[1:])
	case len(args) > 0 && args[0] == "run":
		o, err := parseRun(args[1:])
		if err != nil {
			return err
		}
		return runEngine(ctx, o)
	}
	fmt.Fprintln(os.Stderr, "usage: fieldflow-local up --store S | run --store S [--once] | demo-minio --minio BIN   (-h for the flags)")
	return errors.New("no subcommand")
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
