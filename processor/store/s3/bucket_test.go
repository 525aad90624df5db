package s3_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/fieldflow/fieldflow/processor/store"
	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"
)

// missingBucket is the name of a bucket nobody created.
func missingBucket() string { return "missing-" + strings.ToLower(rand.Text()[:12]) }

// newStore is s3store.New on bucket, failing the test on an error.
func newStore(t *testing.T, bucket string) *s3store.Store {
	t.Helper()
	st, err := s3store.New(context.Background(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// closedEndpoint is the URL of a loopback port nobody listens on.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestCheckBucket opens stores on a real MinIO: a missing bucket is
// ErrNoBucket with a message naming the bucket, the endpoint and how to
// create it; wrong credentials and an endpoint that does not answer keep
// their own errors, even on a missing bucket; an existing bucket opens.
func TestCheckBucket(t *testing.T) {
	srv := s3test.Require(t)
	for _, tc := range []struct {
		name      string
		open      func(t *testing.T) *s3store.Store
		noBucket  bool     // want ErrNoBucket
		want      []string // in the message; "ENDPOINT" and "BUCKET" are replaced
		ok        bool     // want no error
		wantOther bool     // want an error that is not ErrNoBucket
	}{
		{
			name: "existing bucket",
			open: func(t *testing.T) *s3store.Store { return srv.Bucket(t) },
			ok:   true,
		},
		{
			name:     "missing bucket",
			open:     func(t *testing.T) *s3store.Store { return newStore(t, missingBucket()) },
			noBucket: true,
			want: []string{
				`bucket "BUCKET" does not exist at ENDPOINT`,
				"aws s3 mb s3://BUCKET --endpoint-url ENDPOINT",
				"mc mb ALIAS/BUCKET",
			},
		},
		{
			name: "wrong secret key",
			open: func(t *testing.T) *s3store.Store {
				t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey+"-wrong")
				return newStore(t, missingBucket())
			},
			wantOther: true,
			want:      []string{"SignatureDoesNotMatch", "check the bucket at ENDPOINT"},
		},
		{
			name: "wrong access key",
			open: func(t *testing.T) *s3store.Store {
				t.Setenv("AWS_ACCESS_KEY_ID", "nobody")
				return newStore(t, missingBucket())
			},
			wantOther: true,
			want:      []string{"InvalidAccessKeyId", "check the bucket at ENDPOINT"},
		},
		{
			name: "unreachable endpoint",
			open: func(t *testing.T) *s3store.Store {
				st, err := s3store.NewWithOptions(context.Background(), missingBucket(), s3store.Options{
					Endpoint: closedEndpoint(t), StallTimeout: time.Second, CallTimeout: 10 * time.Second,
				})
				if err != nil {
					t.Fatal(err)
				}
				return st
			},
			wantOther: true,
			want:      []string{"connection refused", "check the bucket at ENDPOINT"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.open(t)
			err := st.CheckBucket(context.Background())
			t.Logf("%s: %v", tc.name, err)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tc.noBucket && !errors.Is(err, s3store.ErrNoBucket):
				t.Fatalf("err = %v, want ErrNoBucket", err)
			case tc.wantOther && (err == nil || errors.Is(err, s3store.ErrNoBucket)):
				t.Fatalf("err = %v, want an error other than ErrNoBucket", err)
			}
			var nb *s3store.NoBucketError
			if tc.noBucket && (!errors.As(err, &nb) || nb.Bucket != st.Bucket() || nb.Endpoint != endpointOf(st)) {
				t.Errorf("err = %#v, want a NoBucketError for %s at %s", err, st.Bucket(), endpointOf(st))
			}
			for _, w := range tc.want {
				w = strings.NewReplacer("ENDPOINT", endpointOf(st), "BUCKET", st.Bucket()).Replace(w)
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q does not say %q", err, w)
				}
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("message %q is more than one line", err)
			}
		})
	}
}

// endpointOf is the endpoint st's client calls.
func endpointOf(st *s3store.Store) string {
	return *st.Client().Options().BaseEndpoint
}

// TestBucketDeletedLater deletes a store's bucket after it opened: every
// call that can tell (an error body that says NoSuchBucket) fails with
// ErrNoBucket naming its key; Stat, whose HEAD has no body, says not found.
func TestBucketDeletedLater(t *testing.T) {
	st := s3test.Require(t).Bucket(t)
	ctx := context.Background()
	if err := st.CheckBucket(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Client().DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(st.Bucket())}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		op   string
		call func() error
		want error
	}{
		{"put", func() error { return st.Put(ctx, "a/key", strings.NewReader("x"), nil) }, s3store.ErrNoBucket},
		{"get", func() error { _, _, err := st.Open(ctx, "a/key"); return err }, s3store.ErrNoBucket},
		{"list", func() error {
			for _, err := range st.List(ctx, "a/") {
				return err
			}
			return nil
		}, s3store.ErrNoBucket},
		{"delete", func() error { return st.Delete(ctx, "a/key") }, s3store.ErrNoBucket},
		{"head", func() error { _, err := st.Stat(ctx, "a/key"); return err }, store.ErrNotFound},
		{"check", func() error { return st.CheckBucket(ctx) }, s3store.ErrNoBucket},
	} {
		t.Run(tc.op, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == s3store.ErrNoBucket && !strings.Contains(err.Error(), `bucket "`+st.Bucket()+`" does not exist at `+endpointOf(st)) {
				t.Errorf("message %q does not name the bucket and the endpoint", err)
			}
			t.Logf("%s: %v", tc.op, err)
		})
	}
}

// TestNoBucketErrorMessage checks the advice for both kinds of server: a
// custom endpoint (MinIO) is named with --endpoint-url, AWS S3 by region.
func TestNoBucketErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  s3store.NoBucketError
		want string
	}{
		{
			s3store.NoBucketError{Bucket: "irrigation", Endpoint: "http://127.0.0.1:9000", Region: "us-east-1"},
			`bucket "irrigation" does not exist at http://127.0.0.1:9000; create it first: aws s3 mb s3://irrigation --endpoint-url http://127.0.0.1:9000 (or mc mb ALIAS/irrigation)`,
		},
		{
			s3store.NoBucketError{Bucket: "irrigation", Region: "eu-west-1"},
			`bucket "irrigation" does not exist in AWS S3 region eu-west-1; create it first: aws s3 mb s3://irrigation --region eu-west-1`,
		},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
		if !errors.Is(&tc.err, s3store.ErrNoBucket) {
			t.Errorf("%v does not match ErrNoBucket", &tc.err)
		}
	}
}
