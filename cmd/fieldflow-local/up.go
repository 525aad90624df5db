package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// up runs the whole engine until ctx ends, without watching the store:
// workflows are submitted by hand (argo submit, kubectl create). The
// kubeconfig's path is the first line on stdout, once everything is up.
func up(ctx context.Context, o engineOptions) error {
	r, err := start(ctx, o)
	if err != nil {
		return err
	}
	defer r.shutdown()
	c := r.cluster
	r.serveUI(ctx)
	fmt.Println(c.Kubeconfig)
	slog.Info("fieldflow-local up", "kubeconfig", c.Kubeconfig, "namespace", c.Namespace,
		"etcd", c.Timings.Etcd, "apiserver", c.Timings.APIServer, "installed", c.Timings.Installed,
		"controller", c.Timings.Controller, "ready", r.ready.Round(time.Millisecond), "rss_mib", rssMiB(),
		"try", "KUBECONFIG="+c.Kubeconfig+" argo list -n "+c.Namespace)
	select {
	case <-ctx.Done():
		slog.Info("stopping")
		return nil
	case err := <-c.Failed():
		return err
	}
}
