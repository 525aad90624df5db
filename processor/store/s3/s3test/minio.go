// Package s3test runs a real MinIO server for tests, the way httptest runs
// an HTTP server. The binary is built by `make test` (go install of a pinned
// MinIO release) into .cache/minio-VERSION/; FIELDFLOW_MINIO names another.
//
// Tests call Require, which skips when no binary exists unless
// FIELDFLOW_REQUIRE_MINIO=1 (set by `make test` and CI), where a missing
// server is a failure: the integration suite must never pass by skipping.
//
// For a bad day: Server.Proxy puts a proxy in front of the server whose
// faults a test sets (a cut, a stall, a flipped byte), Proxy.Store a store
// through it with short timeouts, and Server.Stop and Restart make an
// outage.
package s3test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
	"github.com/fieldflow/fieldflow/processor/store/s3/localminio"
)

// Server is a running MinIO (localminio) with what tests add to it.
type Server struct{ *localminio.Server }

var (
	shared    *Server
	sharedErr error
	once      sync.Once
)

// Require returns the package's shared server, starting it on first use and
// pointing the AWS environment variables at it. Every caller gets a bucket
// of its own through Bucket.
func Require(t testing.TB) *Server {
	t.Helper()
	once.Do(func() {
		bin, err := localminio.Binary()
		if err != nil {
			sharedErr = err
			return
		}
		dir, err := os.MkdirTemp("", "fieldflow-minio-")
		if err != nil {
			sharedErr = err
			return
		}
		var srv *localminio.Server
		srv, sharedErr = localminio.Start(bin, dir)
		if sharedErr == nil {
			shared = &Server{srv}
			shared.SetEnv()
		}
	})
	if sharedErr != nil {
		if os.Getenv("FIELDFLOW_REQUIRE_MINIO") == "1" {
			t.Fatalf("MinIO is required: %v", sharedErr)
		}
		t.Skipf("no MinIO (run `make test` to build it): %v", sharedErr)
	}
	return shared
}

// Stop ends the shared server; for TestMain after m.Run.
func Stop() {
	if shared != nil {
		shared.Close()
	}
}

// Bucket creates a new, empty bucket and returns a store on it.
func (s *Server) Bucket(t testing.TB) *s3store.Store {
	t.Helper()
	st, err := s.CreateBucket(context.Background(), "t-"+strings.ToLower(localminio.RandomHex(6)))
	if err != nil {
		t.Fatal(err)
	}
	return st
}
