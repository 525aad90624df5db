package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/rules"
)

var runCmd = command{
	name:    "run",
	summary: "run the pipeline: the generated Argo templates on a local Argo engine (or --engine direct)",
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		once := fs.Bool("once", false, "process what is there until nothing more can run, then print the status and exit")
		parallel := fs.Int("parallel", runtime.NumCPU(), "inputs processed at once")
		engine := fs.String("engine", "argo", "argo: Argo's controller on an embedded API server (fieldflow-local); direct: in this process")
		manifests := fs.String("manifests", "", "argo engine: folder holding templates/ and argo-events/ (default: the built-in copies)")
		state := fs.String("state", names.DefaultStateDir, "argo engine: state folder (etcd, kubeconfig, pod folders); delete it to start afresh")
		metrics := fs.String("metrics-addr", "", "argo engine: where the controller's /metrics is served (default "+names.DefaultMetricsAddr+", or a free port when another engine has it)")
		return func(ctx context.Context) error {
			p, err := open(ctx, *storeURL)
			if err != nil {
				return err
			}
			var runErr error
			var last bytes.Buffer // what the engine says of the run, printed after the status table
			switch *engine {
			case "direct":
				if !*once {
					return usageError("--engine direct needs --once: it processes what is there and exits")
				}
				start := time.Now()
				var sum processor.Summary
				sum, runErr = p.RunOnce(ctx, *parallel)
				fmt.Fprintf(&last, "direct engine: %d processed, %d quarantined, %d failed in %s (one process: no workflows, no pods)\n",
					sum.Processed, sum.Quarantined, sum.Failed, time.Since(start).Round(time.Millisecond))
			case "argo":
				args := []string{"run", "--store", *storeURL, "--parallel", fmt.Sprint(*parallel), "--state", *state}
				if *metrics != "" {
					args = append(args, "--metrics-addr", *metrics)
				}
				if *manifests != "" {
					args = append(args, "--manifests", *manifests)
				}
				if *once {
					args = append(args, "--once")
				}
				// With --once the engine's last lines (workflows by phase,
				// the run's cost) come after the status table.
				out := io.Writer(os.Stdout)
				if *once {
					out = &last
				}
				// The engine judges inputs by the manifests' settings; so
				// does its status table.
				pipe, err := manifestsPipeline(*manifests)
				if err != nil {
					return usageError(err.Error())
				}
				p = processor.New(p.Store(), pipe, slog.Default())
				if runErr = local(ctx, out, args); runErr != nil && ctx.Err() == nil && !*once {
					return runErr
				}
			default:
				return usageError(fmt.Sprintf("--engine %q: want argo or direct", *engine))
			}
			statusErr := finalStatus(context.WithoutCancel(ctx), p)
			os.Stdout.Write(last.Bytes())
			if statusErr != nil {
				return statusErr
			}
			return runErr
		}
	},
}

// local runs the Argo engine, fieldflow-local, found beside this binary or
// on PATH. It is a binary of its own so that the pod image, which is this
// one, does not carry an API server and a controller.
func local(ctx context.Context, stdout io.Writer, args []string) error {
	bin := "fieldflow-local"
	if self, err := os.Executable(); err == nil {
		if beside := filepath.Join(filepath.Dir(self), bin); fileExists(beside) {
			bin = beside
		}
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return usageError("the argo engine needs fieldflow-local beside fieldflow: `make local` builds both (or use --engine direct)")
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("fieldflow-local exited with %d", exit.ExitCode())
		}
		return err
	}
	return nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// finalStatus prints every input's state; a failed input fails the run.
func finalStatus(ctx context.Context, p *processor.Processor) error {
	vs, err := p.Status(ctx)
	if err != nil {
		return err
	}
	if err := printStatus(os.Stdout, vs); err != nil {
		return err
	}
	failed := 0
	for _, v := range vs {
		if v.State == rules.Failed {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d inputs failed", failed)
	}
	return nil
}
