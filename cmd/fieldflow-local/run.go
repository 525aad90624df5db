package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/engine"
)

// runEngine is up plus the store: it follows the store's uploads until ctx
// ends or, with --once, plays every input and returns when nothing more
// can run.
func runEngine(ctx context.Context, o runOptions) error {
	r, err := start(ctx, o.engineOptions)
	if err != nil {
		return err
	}
	defer r.shutdown()
	c := r.cluster
	slog.Info("local engine up", "kubeconfig", c.Kubeconfig, "after", r.ready, "try", "kubectl --kubeconfig "+c.Kubeconfig+" get wf -n "+c.Namespace)
	if o.once {
		phases, err := r.engine.Once(ctx, os.Stderr)
		if err != nil {
			return err
		}
		fmt.Println(engine.FormatPhases(phases))
		return nil
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		if err := r.engine.Watch(wctx); err != nil && !errors.Is(err, context.Canceled) {
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
