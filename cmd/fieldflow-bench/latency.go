package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
	"github.com/fieldflow/fieldflow/processor/store"
	"github.com/fieldflow/fieldflow/processor/store/local"
)

// latency measures, in one run, how long a small box file takes from its
// upload to its output through the local engine by each way it follows a
// store: on MinIO, Argo Events' own path (MinIO notification, EventSource,
// JetStream, Sensor, Workflow, controller, pod); on a folder, the engine's
// watcher (a listing every second, the generated Sensor applied in
// process). Both are compared with `fieldflow process` run by hand on the
// same MinIO server in the same run, which is what the engine's plumbing
// adds to. The engines run one after the other, never at once.
func latency(ctx context.Context, fieldflow, localBin, minio string, reps int) error {
	srv, st, err := minioBucket(ctx, minio, "latency")
	if err != nil {
		return err
	}
	defer srv.Close()
	folder, err := os.MkdirTemp("", "fieldflow-latency-folder-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(folder)
	fst, err := local.New(folder)
	if err != nil {
		return err
	}
	bucketArg := "s3://" + st.Bucket()

	all := make([]series, 0, 4)
	for _, run := range []func() (series, error){
		func() (series, error) { return byHand(ctx, "by hand, MinIO", fieldflow, st, bucketArg, reps) },
		func() (series, error) { return byHand(ctx, "by hand, folder", fieldflow, fst, folder, reps) },
		func() (series, error) {
			return throughEngine(ctx, "Argo Events, MinIO", localBin, st, bucketArg, names.EventsReady, reps)
		},
		func() (series, error) {
			return throughEngine(ctx, "engine's watcher, folder", localBin, fst, folder, nil, reps)
		},
	} {
		s, err := run()
		if err != nil {
			return err
		}
		all = append(all, s)
	}
	report(os.Stdout, reps, all)
	return nil
}

// byHand times `fieldflow process` on freshly uploaded files: the work
// each pod does, without Argo around it.
func byHand(ctx context.Context, name, fieldflow string, st store.Store, storeArg string, reps int) (series, error) {
	s := series{name: name}
	for range reps {
		key, err := upload(ctx, st)
		if err != nil {
			return s, err
		}
		start := time.Now()
		if out, err := exec.CommandContext(ctx, fieldflow, "process", "--store", storeArg, "--key", key).CombinedOutput(); err != nil {
			return s, fmt.Errorf("fieldflow process: %w\n%s", err, out)
		}
		s.timings = append(s.timings, timing{total: time.Since(start)})
	}
	return s, nil
}

// throughEngine starts the engine on a store, waits until it follows
// uploads (readyFile, when the path has one, then the start-up reconcile)
// and times uploads to their outputs one after the other, each once the
// engine is idle again.
func throughEngine(ctx context.Context, name, localBin string, st store.Store, storeArg string, readyFile func(state string) string, reps int) (series, error) {
	s := series{name: name}
	e, err := startEngine(ctx, localBin, storeArg)
	if err != nil {
		return s, err
	}
	defer e.stop()
	s.up = e.up
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	seen, err := watchCreated(wctx, e.argo)
	if err != nil {
		return s, e.fail(err)
	}
	if readyFile != nil {
		if err := waitFile(ctx, readyFile(e.state), 5*time.Minute, e.done); err != nil {
			return s, e.fail(err)
		}
	}
	e.settle(ctx)
	s.ready = time.Since(e.started)
	keys := make([]string, 0, reps)
	for range reps {
		key, err := upload(ctx, st)
		if err != nil {
			return s, err
		}
		keys = append(keys, key)
		s.time(ctx, st, seen, key, time.Now())
		e.idle(ctx, 2*time.Minute)
	}
	s.countDuplicates(seen, keys)
	return s, nil
}

// time waits for key's output and adds it to the series, split where the
// Workflow was seen; a minute without output counts it lost.
func (s *series) time(ctx context.Context, st store.Store, seen *created, key string, start time.Time) {
	if err := waitObject(ctx, st, outputKey(key), time.Minute); err != nil {
		s.lost++
		return
	}
	x := timing{total: time.Since(start)}
	if at, n := seen.get(key); n > 0 {
		x.toWorkflow = at.Sub(start)
	}
	s.timings = append(s.timings, x)
}

// countDuplicates counts the keys that made more than one Workflow, once
// every upload is done: a repeated event makes its second Workflow late.
func (s *series) countDuplicates(seen *created, keys []string) {
	for _, k := range keys {
		if _, n := seen.get(k); n > 1 {
			s.duplicated++
		}
	}
}
