package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"golang.org/x/sync/errgroup"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"
)

// TestBacklogPage puts 20,000 ready boxes in a bucket, the backlog a long
// listener outage leaves (an unpaged list of them is about 1.3 MB, five
// times what Argo keeps of a step's output), and starts the engine on it:
// the reconcile it runs on start lists one page and submits exactly that
// page, boxes in run order, and Succeeds. The page is cut to 20 in a copy
// of the templates rendered with reconcileLimit 20, so that the test does
// not wait for 500 workflows; the byte bound is the generated one.
func TestBacklogPage(t *testing.T) {
	const backlog, page = 20000, 20
	local, fieldflow := binaries(t)
	srv := s3test.Require(t)
	bucket := srv.Bucket(t)
	keys := make([]string, backlog)
	for i := range keys {
		keys[i] = fmt.Sprintf("boxes/input/bounding_box_%032x.jsonl", uint64(i)*0x9e3779b97f4a7c15)
	}
	start := time.Now()
	var g errgroup.Group
	g.SetLimit(32)
	for _, key := range keys {
		g.Go(func() error {
			id := key[len("boxes/input/bounding_box_") : len(key)-len(".jsonl")]
			rec := `{"box_id": "` + id + `", "coordinates_x_min": 0, "coordinates_y_min": 0, "coordinates_x_max": 1, "coordinates_y_max": 1, "irrigation_array": [[1]], "is_processed": false}` + "\n"
			return bucket.Put(t.Context(), key, bytes.NewReader([]byte(rec)), nil)
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("uploaded %d boxes in %s", backlog, time.Since(start).Round(time.Second))

	w := startWatch(t, local, filepath.Join(t.TempDir(), "state"), srv.Env(),
		"--store", "s3://"+bucket.Bucket(), "--manifests", pagedManifests(t, fieldflow, page))
	var rec *wfv1.Workflow
	w.settle(10*time.Minute, "the start-up reconcile finished", func() bool {
		for _, wf := range w.workflows(t.Context()) {
			if wf.Spec.WorkflowTemplateRef != nil && wf.Spec.WorkflowTemplateRef.Name == pipeline.ReconcileTemplate && wf.Status.Phase.Completed() {
				rec = &wf
				return true
			}
		}
		return false
	})
	if rec.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("reconcile %s: %s %s", rec.Name, rec.Status.Phase, rec.Status.Message)
	}
	var listed []string
	if err := json.Unmarshal([]byte(output(rec, "ready", "box")), &listed); err != nil {
		t.Fatalf("the page's box output: %v", err)
	}
	sorted := slices.Sorted(slices.Values(keys))
	if !slices.Equal(listed, sorted[:page]) {
		t.Errorf("the page lists %v, want the first %d boxes in run order", listed, page)
	}
	pipe, err := pipeline.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	submitted := 0
	for _, wf := range w.workflows(t.Context()) {
		if wf.Spec.WorkflowTemplateRef != nil && wf.Spec.WorkflowTemplateRef.Name == pipe.Assets[0].TemplateName() {
			submitted++
		}
	}
	if submitted != page {
		t.Errorf("%d box workflows after one reconcile, want the page of %d", submitted, page)
	}
	t.Logf("%d ready boxes: the reconcile %s listed and submitted %d and Succeeded", backlog, rec.Name, submitted)
}

// pagedManifests renders the manifests with `fieldflow generate` from the
// checked-in deployment config with the reconcile's page set to page.
func pagedManifests(t *testing.T, fieldflow string, page int) string {
	b, err := os.ReadFile(filepath.Join(repoRoot, "generator", "fieldflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "fieldflow.yaml")
	b = append(b, fmt.Sprintf("\nreconcileLimit: %d\n", page)...)
	if err := os.WriteFile(config, b, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, fieldflow, "generate", "--config", config, "--out", dir)
	return dir
}
