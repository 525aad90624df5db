package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
)

var runCmd = command{
	name:    "run",
	summary: "process everything that can run, in dependency order, then show the status",
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		once := fs.Bool("once", false, "run until nothing more can run, then exit (required: this engine does not watch)")
		parallel := fs.Int("parallel", runtime.NumCPU(), "inputs processed at once")
		return func(ctx context.Context) error {
			if !*once {
				return usageError("run needs --once: this engine processes what is there and exits")
			}
			p, err := open(ctx, *storeURL)
			if err != nil {
				return err
			}
			sum, runErr := p.RunOnce(ctx, *parallel)
			slog.Info("run finished", "processed", sum.Processed, "quarantined", sum.Quarantined, "failed", sum.Failed)
			vs, err := p.Status(ctx)
			if err != nil {
				return err
			}
			if err := printStatus(os.Stdout, vs); err != nil {
				return err
			}
			if runErr != nil {
				return runErr
			}
			if sum.Failed > 0 {
				return fmt.Errorf("%d inputs failed", sum.Failed)
			}
			return nil
		}
	},
}
