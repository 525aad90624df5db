package s3_test

import (
	"os"
	"testing"

	"github.com/fieldflow/fieldflow/processor/store"
	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"
	"github.com/fieldflow/fieldflow/processor/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	s3test.Stop()
	os.Exit(code)
}

// TestStore runs the store suite on a real MinIO: more than one page of
// keys, and an object streamed in many parts.
func TestStore(t *testing.T) {
	srv := s3test.Require(t)
	storetest.Run(t, func(t *testing.T) store.Store { return srv.Bucket(t) },
		storetest.Options{ManyKeys: 1100, LargeSize: 200 << 20})
}
