package engine

import (
	"testing"

	"github.com/minio/minio-go/v7/pkg/notification"
)

// TestCreatedKeys runs Created notifications through the generated minio
// Sensor: polled and replayed keys must reach the Workflow exactly as
// stored, as keys from MinIO's listen API do.
func TestCreatedKeys(t *testing.T) {
	m, err := LoadManifests("")
	if err != nil {
		t.Fatal(err)
	}
	const fields = "fields/input/01976dbcbdb77dc4b9b61ba545503b77/fields_2025-06-01"
	for _, tc := range []struct {
		key      string
		triggers bool
	}{
		{"boxes/input/bounding_box_01976dbcbdb77dc4b9b61ba545503b77.jsonl", true},
		{fields + ` late+1 "x" é.jsonl`, true},
		{fields + "_a%20b%2Bc.jsonl", true},
		{"fields/input/readme.txt", false},
	} {
		t.Run(tc.key, func(t *testing.T) {
			wfs, err := m.Triggered([]notification.Event{Created(tc.key, 3, "etag")})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.triggers {
				if len(wfs) != 0 {
					t.Errorf("%d workflows, want none", len(wfs))
				}
				return
			}
			if len(wfs) != 1 {
				t.Fatalf("%d workflows, want 1", len(wfs))
			}
			if got := wfs[0].Spec.Arguments.Parameters[0].Value.String(); got != tc.key {
				t.Errorf("workflow carries key %q, want %q", got, tc.key)
			}
		})
	}
}
