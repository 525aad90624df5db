// Command fieldflow processes irrigation data files: one subcommand a job,
// each a stable contract for scripts and for the Argo templates that call it.
//
// Exit codes are pipeline's (processor/pipeline/names.go): ExitOK, ExitRetry
// for an error worth retrying, ExitPermanent for one that will happen again
// (invalid input, a key that is no input, bad usage) and ExitCrash for a
// panic.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// command is one subcommand, defined in a file of its own.
type command struct {
	name    string
	summary string
	flags   func(fs *flag.FlagSet) func(ctx context.Context) error
}

var commands = []command{sampleCmd, processCmd, checkCmd, readyCmd, statusCmd, retryCmd, runCmd, pluginCmd}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()})))
	code := exitCode(os.Stderr, recovered(func() error { return run(ctx, os.Args[1:]) }))
	stop()
	os.Exit(code)
}

// recovered runs f, turning a panic on this goroutine into a
// processor.Crash: exit code ExitCrash.
func recovered(f func() error) error { return processor.Recovered(f) }

func run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return usageError("no subcommand")
		}
		return nil
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		fs := flag.NewFlagSet("fieldflow "+c.name, flag.ContinueOnError)
		exec := c.flags(fs)
		if err := fs.Parse(args[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return usageError(err.Error())
		}
		if fs.NArg() > 0 {
			return usageError(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
		}
		return exec(ctx)
	}
	usage()
	return usageError(fmt.Sprintf("unknown subcommand %q", args[0]))
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: fieldflow <subcommand> [flags]  (fieldflow <subcommand> -h for its flags)")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(os.Stderr, "\nSettings come from the environment (see README): folders, key patterns, DATE_FORMAT, START_DATE;")
	fmt.Fprintln(os.Stderr, "S3 credentials and endpoint from the standard AWS variables.")
}

// usageErr is a mistake in the command line: ExitPermanent, like invalid
// input.
type usageErr string

func (e usageErr) Error() string        { return string(e) }
func (e usageErr) Is(target error) bool { return target == processor.ErrPermanent }

func usageError(msg string) error { return usageErr(msg) }

// exitCode reports err on stderr and maps it to the exit code Argo's retry
// expression and metrics read (processor.ExitCode, which the executor
// plugin's nodes report too).
func exitCode(stderr io.Writer, err error) int {
	if err != nil {
		fmt.Fprintln(stderr, "fieldflow:", err)
	}
	return processor.ExitCode(err)
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("FIELDFLOW_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// storeFlag adds the --store flag every subcommand has.
func storeFlag(fs *flag.FlagSet) *string {
	return fs.String("store", os.Getenv("FIELDFLOW_STORE"), "where the data is: s3://BUCKET or a folder (default $FIELDFLOW_STORE)")
}

// openKey is open for the subcommands that work on one input: --key is
// required.
func openKey(ctx context.Context, storeURL, key string) (*processor.Processor, error) {
	if key == "" {
		return nil, usageError("--key is required")
	}
	return open(ctx, storeURL)
}

// open builds the processor for a --store value with the pipeline
// configured by the environment.
func open(ctx context.Context, storeURL string) (*processor.Processor, error) {
	pipe, err := pipeline.FromEnv()
	if err != nil {
		return nil, usageError("configuration: " + err.Error())
	}
	st, err := processor.OpenStore(ctx, storeURL)
	if err != nil {
		return nil, err // ErrPermanent unless the bucket did not answer
	}
	p := processor.New(st, pipe, slog.Default())
	p.Workflow = os.Getenv(pipeline.WorkflowEnv)
	return p, nil
}
