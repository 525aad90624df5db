package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/fieldflow/fieldflow/processor/sample"
	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"
)

// latency measures how long a small box file takes from its upload to a
// MinIO bucket to its output, through the local Argo engine listening to
// the bucket (notification, Sensor, Workflow, controller, pod), against
// the baseline of `fieldflow process` run on an uploaded file by hand
// against the same server.
func latency(ctx context.Context, fieldflow, local, minio string, reps int) error {
	srv, st, err := minioBucket(ctx, minio, "latency")
	if err != nil {
		return err
	}
	defer srv.Close()
	store := "s3://" + st.Bucket()

	var direct []time.Duration
	for range reps {
		key, err := upload(ctx, st)
		if err != nil {
			return err
		}
		start := time.Now()
		if out, err := exec.CommandContext(ctx, fieldflow, "process", "--store", store, "--key", key).CombinedOutput(); err != nil {
			return fmt.Errorf("fieldflow process: %w\n%s", err, out)
		}
		direct = append(direct, time.Since(start))
	}

	dir, err := os.MkdirTemp("", "fieldflow-engine-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	state := filepath.Join(dir, "state")
	engine := exec.CommandContext(ctx, local, "run", "--store", store, "--state", state, "--metrics-addr", "127.0.0.1:0")
	engine.Stderr, _ = os.Create(filepath.Join(dir, "engine.log"))
	started := time.Now()
	if err := engine.Start(); err != nil {
		return err
	}
	defer func() { _ = engine.Process.Signal(syscall.SIGINT); _ = engine.Wait() }()
	if err := waitFile(ctx, filepath.Join(state, "kubeconfig"), 5*time.Minute); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "engine.log"))
		return fmt.Errorf("engine: %w\n%s", err, log)
	}
	up := time.Since(started)
	time.Sleep(2 * time.Second) // the engine's start-up reconcile

	var argo []time.Duration
	for range reps {
		key, err := upload(ctx, st)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := waitObject(ctx, st, outputKey(key), 2*time.Minute); err != nil {
			return err
		}
		argo = append(argo, time.Since(start))
	}
	fmt.Printf("\nupload to output of a small box file on MinIO (%d uploads each; engine up in %s):\n", reps, up.Round(time.Second))
	fmt.Printf("  fieldflow process by hand: median %s (min %s, max %s)\n", median(direct), ms(slices.Min(direct)), ms(slices.Max(direct)))
	fmt.Printf("  through Argo (notification, Sensor, Workflow, pod): median %s (min %s, max %s)\n", median(argo), ms(slices.Min(argo)), ms(slices.Max(argo)))
	fmt.Printf("  the Argo path takes %.1fx the time of processing by hand\n", median(argo).Seconds()/median(direct).Seconds())
	return nil
}

// bucket creates a bucket, retrying while MinIO initialises its drives.
// minioBucket starts MinIO in a folder of its own (removed with the
// server), points the AWS variables at it and creates a bucket.
func minioBucket(ctx context.Context, minio, name string) (*s3test.Server, *s3store.Store, error) {
	dir, err := os.MkdirTemp("", "fieldflow-"+name+"-")
	if err != nil {
		return nil, nil, err
	}
	srv, err := s3test.Start(minio, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	srv.SetEnv()
	st, err := bucket(ctx, name)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	return srv, st, nil
}

func bucket(ctx context.Context, name string) (*s3store.Store, error) {
	st, err := s3store.New(ctx, name)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := st.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name})
		if err == nil || time.Now().After(deadline) {
			return st, err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// upload puts a new small box file (one record) and returns its key.
func upload(ctx context.Context, st *s3store.Store) (string, error) {
	id := fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
	var b bytes.Buffer
	sample.AppendBox(&b, rand.New(rand.NewPCG(rand.Uint64(), 1)), id)
	key := "boxes/input/bounding_box_" + id + ".jsonl"
	return key, st.Put(ctx, key, &b, nil)
}

func outputKey(input string) string {
	return "boxes/output/" + filepath.Base(input)
}

func waitObject(ctx context.Context, st *s3store.Store, key string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := st.Stat(ctx, key); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("no %s after %s", key, limit)
}

func waitFile(ctx context.Context, path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if _, err := os.Stat(path); err == nil {
			return nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no %s after %s", path, limit)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return ms(s[len(s)/2])
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
