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
		res, err := r.engine.Once(ctx, os.Stderr)
		if err != nil {
			return err
		}
		fmt.Println(engine.FormatPhases(res.Phases))
		fmt.Println(res.FormatCost())
		return nil
	}
	// An engine that no longer watches must not look as if it did: a
	// failed watch (an event path that never became ready) ends the run.
	watched := make(chan error, 1)
	go func() { watched <- r.engine.Watch(ctx) }()
	// The UI comes up beside the watch, which must not wait for it: what
	// is uploaded meanwhile is the watch's, not only the reconcile's.
	go r.serveUI(ctx)
	select {
	case <-ctx.Done():
		return nil
	case err := <-watched:
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return fmt.Errorf("watch: %w", err)
	case err := <-c.Failed():
		return err
	}
}
