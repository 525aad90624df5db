// Package eventsources_test validates the generated EventSources with Argo
// Events' own ValidateEventSource. It is a package of its own because the
// event source code and argo-workflows link two HDFS clients that register
// the same protobuf names: one test binary cannot hold both.
package eventsources_test

import (
	"os"
	"path/filepath"
	"testing"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	"github.com/argoproj/argo-events/pkg/reconciler/eventsource"
	"sigs.k8s.io/yaml"
)

func TestEventSourcesPassArgoEventsValidation(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "argo-events", "eventsource-*.yaml"))
	if err != nil || len(paths) != 2 {
		t.Fatalf("want the minio and sqs EventSources, found %v (%v)", paths, err)
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		es := &ev.EventSource{}
		if err := yaml.UnmarshalStrict(b, es); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := eventsource.ValidateEventSource(es); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}
