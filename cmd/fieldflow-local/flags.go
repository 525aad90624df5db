package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/engine"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// engineOptions are the flags up and run share: both start the whole engine.
type engineOptions struct {
	engine         engine.Options
	state          string
	metricsAddr    string
	pprof          bool
	crds           string
	executorImage  string
	componentLevel slog.Level
	podGCDelay     time.Duration
}

// runOptions are the flags of `fieldflow-local run`.
type runOptions struct {
	engineOptions
	once bool
}

// defaults differ between the subcommands where their uses do.
type defaults struct {
	componentLevel string
	podGCDelay     time.Duration
}

// upDefaults keep finished pods ten minutes: `up` is for looking at
// workflows with argo and kubectl, whose logs commands read the pods.
var upDefaults = defaults{componentLevel: "warn", podGCDelay: 10 * time.Minute}

// runDefaults keep Argo's pod GC (5 s): a run makes many pods and nobody reads them.
var runDefaults = defaults{componentLevel: "error"}

func parseUp(args []string) (engineOptions, error) {
	fs := flag.NewFlagSet("fieldflow-local up", flag.ContinueOnError)
	var o engineOptions
	finish := engineFlags(fs, &o, upDefaults)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	return o, finish()
}

func parseRun(args []string) (runOptions, error) {
	fs := flag.NewFlagSet("fieldflow-local run", flag.ContinueOnError)
	var o runOptions
	finish := engineFlags(fs, &o.engineOptions, runDefaults)
	fs.BoolVar(&o.once, "once", false, "reconcile, wait until nothing more can run, then exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	return o, finish()
}

// engineFlags defines the shared flags on fs; the returned function
// checks them and fills in what depends on others, after fs.Parse.
func engineFlags(fs *flag.FlagSet, o *engineOptions, d defaults) func() error {
	fs.StringVar(&o.engine.Store, "store", os.Getenv("FIELDFLOW_STORE"), "s3://BUCKET or a folder")
	fs.StringVar(&o.engine.Manifests, "manifests", "", "folder holding templates/ and argo-events/ (default: the copies built in)")
	fs.StringVar(&o.state, "state", names.DefaultStateDir, "state folder: etcd, certificates, kubeconfig, pod folders")
	fs.StringVar(&o.engine.Images, "images", "", "image store the pods' images are taken from: the folder `make image` writes (default: .cache/image beside .cache/bin)")
	fs.IntVar(&o.engine.Parallel, "parallel", runtime.NumCPU(), "pods run at once")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "where the controller's /metrics is served (default "+names.DefaultMetricsAddr+", or a free port when another engine has it)")
	fs.BoolVar(&o.pprof, "pprof", false, "also serve Go's profiler at /debug/pprof/ beside /metrics (off by default: it shows any local process the engine's internals)")
	fs.StringVar(&o.crds, "crds", "", "folder of Argo's CRDs (default: manifests/base/crds/minimal of argo-workflows in the Go module cache)")
	fs.StringVar(&o.executorImage, "executor-image", "", "argoexec image named in workflow pods (default argoproj/argoexec:v3.7.3)")
	fs.DurationVar(&o.podGCDelay, "pod-gc-delay", d.podGCDelay, "how long a finished pod that the template's podGC deletes is kept (0: Argo's 5s)")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	componentLevel := fs.String("component-log-level", d.componentLevel, "log level of the apiserver and controller")
	return func() error {
		if o.engine.Store == "" {
			return errors.New("--store is required")
		}
		var l slog.Level
		if err := l.UnmarshalText([]byte(*level)); err != nil {
			return fmt.Errorf("--log-level: %w", err)
		}
		if err := o.componentLevel.UnmarshalText([]byte(*componentLevel)); err != nil {
			return fmt.Errorf("--component-log-level: %w", err)
		}
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})))
		if o.engine.Images != "" {
			return nil
		}
		// .cache/image beside .cache/bin, where make image writes it.
		dir, err := besideSelf(filepath.Join("..", "image"))
		o.engine.Images = dir
		return err
	}
}
