package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/fieldflow/fieldflow/processor/sample"
	"github.com/fieldflow/fieldflow/processor/store"
	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
	"github.com/fieldflow/fieldflow/processor/store/s3/localminio"
)

// minioBucket starts MinIO in a folder of its own (removed with the
// server), points the AWS variables at it and creates a bucket.
func minioBucket(ctx context.Context, minio, name string) (*localminio.Server, *s3store.Store, error) {
	dir, err := os.MkdirTemp("", "fieldflow-"+name+"-")
	if err != nil {
		return nil, nil, err
	}
	srv, err := localminio.Start(minio, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	srv.SetEnv()
	st, err := srv.CreateBucket(ctx, name)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	return srv, st, nil
}

// upload puts a new small box file (one record) and returns its key. Put
// is whole or nothing on both stores (a folder's is a rename), so a
// watcher never sees half a file.
func upload(ctx context.Context, st store.Store) (string, error) {
	id := fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
	var b bytes.Buffer
	sample.AppendBox(&b, rand.New(rand.NewPCG(rand.Uint64(), 1)), id)
	key := "boxes/input/bounding_box_" + id + ".jsonl"
	return key, st.Put(ctx, key, &b, nil)
}

func outputKey(input string) string {
	return "boxes/output/" + filepath.Base(input)
}

// waitObject polls for key every 10 ms, the resolution of the latencies.
func waitObject(ctx context.Context, st store.Store, key string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if _, err := st.Stat(ctx, key); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("no %s after %s", key, limit)
}

// waitFile polls for path until limit, or until stop is closed (the
// process that would write it has exited).
func waitFile(ctx context.Context, path string, limit time.Duration, stop <-chan struct{}) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if _, err := os.Stat(path); err == nil {
			return nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		select {
		case <-stop:
			return fmt.Errorf("exited before %s existed", path)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("no %s after %s", path, limit)
}
