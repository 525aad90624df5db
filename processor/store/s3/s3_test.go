package s3_test

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/fieldflow/fieldflow/processor/store"
	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
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

// TestFailedUploadLeavesNoParts checks that an upload broken after several
// parts is aborted: no object, and no multipart upload left to bill for.
func TestFailedUploadLeavesNoParts(t *testing.T) {
	st := s3test.Require(t).Bucket(t)
	ctx := context.Background()
	err := st.Put(ctx, "out/big", io.MultiReader(io.LimitReader(zeros{}, 3*s3store.PartSize), failing{}), nil)
	if err == nil {
		t.Fatal("put of a failing reader succeeded")
	}
	bucket := st.Bucket()
	up, err := st.Client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Uploads) != 0 {
		t.Errorf("%d multipart uploads left behind", len(up.Uploads))
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("processing failed") }
