package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"
)

// TestMissingBucket runs the commands that open a store on a bucket of a
// fresh MinIO that nobody created, as a new user's first `fieldflow sample
// --store s3://irrigation` does: each says in one line which bucket is
// missing where and how to create it, and exits ExitPermanent. Wrong
// credentials on the same bucket say so instead, and exit ExitRetry.
func TestMissingBucket(t *testing.T) {
	srv := s3test.Require(t)
	const bucket = "missing"
	store := "s3://" + bucket
	noBucket := fmt.Sprintf("fieldflow: bucket %q does not exist at %s; create it first: aws s3 mb s3://%s --endpoint-url %s (or mc mb ALIAS/%s)",
		bucket, srv.Endpoint, bucket, srv.Endpoint, bucket)
	wrongKey := append(srv.Env(), "AWS_SECRET_ACCESS_KEY=wrong")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		want string // the whole of stderr, one line
		has  string // or a part of it, for errors with request IDs
	}{
		{"sample", srv.Env(), []string{"sample", "--store", store, "--faults"}, pipeline.ExitPermanent, noBucket, ""},
		{"status", srv.Env(), []string{"status", "--store", store}, pipeline.ExitPermanent, noBucket, ""},
		{"run", srv.Env(), []string{"run", "--store", store, "--once"}, pipeline.ExitPermanent, noBucket, ""},
		{"run direct", srv.Env(), []string{"run", "--engine", "direct", "--store", store, "--once"}, pipeline.ExitPermanent, noBucket, ""},
		{"process", srv.Env(), []string{"process", "--store", store, "--key", "boxes/input/bounding_box_" + box + ".jsonl"}, pipeline.ExitPermanent, noBucket, ""},
		{"wrong secret key", wrongKey, []string{"sample", "--store", store}, pipeline.ExitRetry, "", "SignatureDoesNotMatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fieldflow(t, tc.env, tc.args...)
			stderr := strings.TrimSpace(r.stderr)
			t.Logf("exit %d: %s", r.code, stderr)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d", r.code, tc.code)
			}
			if tc.want != "" && stderr != tc.want {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr, tc.want)
			}
			if tc.has != "" && (!strings.Contains(stderr, tc.has) || strings.Contains(stderr, "does not exist") || strings.Count(stderr, "\n") > 0) {
				t.Errorf("stderr %q: want one line saying %s, not a missing bucket", stderr, tc.has)
			}
		})
	}
}
