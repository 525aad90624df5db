package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/engine"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
	"github.com/fieldflow/fieldflow/processor/store/s3/localminio"
)

// demoBucket is the bucket the demo creates, the one the README names.
const demoBucket = "irrigation"

// demoOptions are the flags of `fieldflow-local demo-minio`.
type demoOptions struct {
	engineOptions
	minio string // the MinIO server binary
	dir   string // MinIO's data, the sample and the engine's state
	seed  uint64 // upload order
}

func parseDemo(args []string) (demoOptions, error) {
	fs := flag.NewFlagSet("fieldflow-local demo-minio", flag.ContinueOnError)
	var o demoOptions
	finish := engineFlags(fs, &o.engineOptions, runDefaults)
	fs.StringVar(&o.minio, "minio", "", "MinIO server binary (make demo-minio builds the pinned release)")
	fs.StringVar(&o.dir, "dir", filepath.Join(".cache", "demo-minio"), "folder for MinIO's data, the sample and the engine's state; emptied first")
	fs.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "upload order")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.minio == "" {
		return o, errors.New("--minio is required")
	}
	o.engine.Store = "s3://" + demoBucket
	o.state = filepath.Join(o.dir, "state")
	return o, finish()
}

// demoMinio is the MinIO path as a new user meets it: the pinned MinIO on
// loopback, a bucket, the engine listening through Argo Events' own
// EventSource and Sensor, the sample uploaded in a random order (fields
// before their box, late files, the invalid one), and the status table
// once nothing more can run.
func demoMinio(ctx context.Context, o demoOptions) error {
	if err := os.RemoveAll(o.dir); err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return err
	}
	srv, err := localminio.Start(o.minio, o.dir)
	if err != nil {
		return err
	}
	defer srv.Stop()
	srv.SetEnv()
	bucket, err := srv.CreateBucket(ctx, demoBucket)
	if err != nil {
		return err
	}
	slog.Info("MinIO up", "endpoint", srv.Endpoint, "bucket", demoBucket, "data", filepath.Join(o.dir, "data"))
	sample := filepath.Join(o.dir, "sample")
	if err := runBeside(ctx, "fieldflow", "sample", "--store", sample, "--faults"); err != nil {
		return err
	}
	r, err := start(ctx, o.engineOptions)
	if err != nil {
		return err
	}
	defer r.shutdown()
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watched := make(chan error, 1)
	go func() { watched <- r.engine.Watch(wctx) }()
	res, err := r.engine.Drive(ctx, os.Stderr, func(ctx context.Context) error {
		if err := waitReady(ctx, o.state, watched); err != nil {
			return err
		}
		return uploadShuffled(ctx, bucket, sample, o.seed, r.engine)
	})
	if err != nil {
		return err
	}
	fmt.Println(engine.FormatPhases(res.Phases))
	fmt.Println(res.FormatCost())
	fmt.Println(sensorMade(ctx, r.engine))
	return runBeside(ctx, "fieldflow", "status", "--store", o.engine.Store)
}

// waitReady waits for the event path, or for Watch to fail.
func waitReady(ctx context.Context, state string, watched <-chan error) error {
	for {
		if _, err := os.Stat(names.EventsReady(state)); err == nil {
			return nil
		}
		select {
		case err := <-watched:
			return fmt.Errorf("event path: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// uploadShuffled puts the sample's files into the bucket in a random
// order, a little apart as uploads from the field would come, then waits
// (at most two minutes) until the Sensor has started a workflow for each
// input: the settling that follows counts on the workflows existing.
func uploadShuffled(ctx context.Context, bucket *s3store.Store, sample string, seed uint64, e *engine.Engine) error {
	var keys []string
	err := filepath.WalkDir(sample, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			key, _ := filepath.Rel(sample, path)
			keys = append(keys, filepath.ToSlash(key))
		}
		return err
	})
	if err != nil {
		return err
	}
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	slog.Info("uploading the sample in a random order", "files", len(keys), "seed", seed)
	for _, key := range keys {
		b, err := os.ReadFile(filepath.Join(sample, key))
		if err != nil {
			return err
		}
		if err := bucket.Put(ctx, key, bytes.NewReader(b), nil); err != nil {
			return fmt.Errorf("upload %s: %w", key, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return e.WaitTriggered(ctx, keys, 2*time.Minute)
}

// sensorMade says how many of the run's workflows Argo Events' Sensor
// created, by the labels its trigger sets.
func sensorMade(ctx context.Context, e *engine.Engine) string {
	wfs, err := e.Workflows(ctx)
	if err != nil {
		return err.Error()
	}
	byTrigger := map[string]int{}
	for _, wf := range wfs {
		if t := wf.Labels[names.TriggerLabel]; t != "" {
			byTrigger[t]++
		}
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(byTrigger)) {
		parts = append(parts, fmt.Sprintf("%d %s", byTrigger[t], t))
	}
	return fmt.Sprintf("created by Argo Events' minio Sensor: %s; the rest by the release and reconcile steps", strings.Join(parts, ", "))
}

// runBeside runs a binary that make local builds beside this one.
func runBeside(ctx context.Context, name string, args ...string) error {
	bin, err := besideSelf(name)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}
