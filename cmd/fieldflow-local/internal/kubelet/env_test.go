package kubelet

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestLookup covers what the templates' optional references need: on AWS
// the endpoint key and the S3 Secret are missing and must stay unset.
func TestLookup(t *testing.T) {
	notFound := apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, "fieldflow-s3")
	data := map[string]string{"AWS_REGION": "eu-west-1"}
	yes, no := true, false
	for _, tc := range []struct {
		name     string
		key      string
		optional *bool
		getErr   error
		want     string
		wantSet  bool
		wantErr  bool
	}{
		{name: "present", key: "AWS_REGION", want: "eu-west-1", wantSet: true},
		{name: "present optional", key: "AWS_REGION", optional: &yes, want: "eu-west-1", wantSet: true},
		{name: "missing key optional", key: "AWS_ENDPOINT_URL", optional: &yes},
		{name: "missing key required", key: "AWS_ENDPOINT_URL", wantErr: true},
		{name: "missing key explicitly required", key: "AWS_ENDPOINT_URL", optional: &no, wantErr: true},
		{name: "missing object optional", key: "AWS_ACCESS_KEY_ID", optional: &yes, getErr: notFound},
		{name: "missing object required", key: "AWS_ACCESS_KEY_ID", getErr: notFound, wantErr: true},
		{name: "other error optional", key: "AWS_ACCESS_KEY_ID", optional: &yes, getErr: errors.New("timeout"), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, set, err := lookup("obj", tc.key, tc.optional, func() (map[string]string, error) {
				if tc.getErr != nil {
					return nil, tc.getErr
				}
				return data, nil
			})
			if (err != nil) != tc.wantErr || got != tc.want || set != tc.wantSet {
				t.Errorf("lookup = %q, %v, %v; want %q, %v, error %v", got, set, err, tc.want, tc.wantSet, tc.wantErr)
			}
		})
	}
}
