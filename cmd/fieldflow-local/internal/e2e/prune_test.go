package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/engine"
	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// TestExactlyTheManifests reuses a state folder with manifests that no
// longer hold the field WorkflowTemplate: the template an earlier run
// installed is removed at start, so no field file is processed, and the
// field workflows the Sensor still creates fail with Argo's "not found".
// The earlier run's workflows stay, finished before the second run began.
func TestExactlyTheManifests(t *testing.T) {
	local, fieldflow := binaries(t)
	state := filepath.Join(t.TempDir(), "state")
	first := t.TempDir()
	run(t, fieldflow, "sample", "--store", first, "--boxes", "1")
	run(t, local, "run", "--once", "--store", first, "--state", state, "--metrics-addr", "127.0.0.1:0")

	manifests := copyManifests(t)
	asset := fieldAsset(t)
	field := asset.TemplateName()
	if err := os.Remove(filepath.Join(manifests, "templates", field+".yaml")); err != nil {
		t.Fatal(err)
	}
	sample, store := t.TempDir(), t.TempDir()
	run(t, fieldflow, "sample", "--store", sample, "--boxes", "1")
	verdicts := judge(t, fieldflow, sample)

	w := startWatch(t, local, state, nil, "--store", store, "--manifests", manifests)
	templates, err := w.argo.ArgoprojV1alpha1().WorkflowTemplates(w.ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, wt := range templates.Items {
		if wt.Name == field {
			t.Errorf("WorkflowTemplate %s, installed by the first run, is still there", field)
		}
	}
	earlier := map[string]wfv1.Workflow{}
	for _, wf := range w.workflows(t.Context()) {
		if wf.Status.Phase.Completed() { // a reconcile the cron started may still run
			earlier[wf.Name] = wf
		}
	}
	if len(earlier) == 0 {
		t.Fatal("the first run's workflows are gone; they are kept for inspection")
	}
	for _, v := range verdicts {
		copyFile(t, sample, store, v.Key)
	}
	fields := 0
	for _, v := range verdicts {
		if strings.HasPrefix(v.Key, asset.InputPrefix+"/") {
			fields++
		}
	}
	w.settle(4*time.Minute, "every field file's workflow finished", func() bool {
		return len(fieldWorkflows(w, field, w.start)) >= fields
	})

	for key, s := range states(t, fieldflow, store) {
		if strings.HasPrefix(key, asset.InputPrefix+"/") && s == "done" {
			t.Errorf("%s processed without a field template", key)
		}
	}
	for _, wf := range fieldWorkflows(w, field, w.start) {
		if wf.Status.Phase != wfv1.WorkflowFailed && wf.Status.Phase != wfv1.WorkflowError || !strings.Contains(wf.Status.Message, "not found") {
			t.Errorf("workflow %s of %s: %s %q, want it failed with Argo's template not found", wf.Name, engine.KeyOf(&wf), wf.Status.Phase, wf.Status.Message)
		}
	}
	kept := 0
	for _, wf := range w.workflows(t.Context()) {
		was, ok := earlier[wf.Name]
		if !ok {
			continue
		}
		kept++
		if wf.Status.Phase != was.Status.Phase || !wf.Status.FinishedAt.Equal(&was.Status.FinishedAt) {
			t.Errorf("the first run's workflow %s: %s finished %s, then %s finished %s in the second run; want it kept, never re-run",
				wf.Name, was.Status.Phase, was.Status.FinishedAt, wf.Status.Phase, wf.Status.FinishedAt)
		}
	}
	if kept != len(earlier) {
		t.Errorf("%d of the first run's %d finished workflows are left; want all, for inspection", kept, len(earlier))
	}
}

// fieldAsset is the pipeline's field asset: the one with an upstream.
func fieldAsset(t *testing.T) *pipeline.Asset {
	t.Helper()
	p, err := pipeline.Load(pipeline.Default)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range p.Assets {
		if a.Name == "field" {
			return a
		}
	}
	t.Fatal("the pipeline has no field asset")
	return nil
}

// fieldWorkflows are the workflows of template created since start.
func fieldWorkflows(w *watcher, template string, start time.Time) []wfv1.Workflow {
	var out []wfv1.Workflow
	for _, wf := range w.workflows(w.t.Context()) {
		ref := wf.Spec.WorkflowTemplateRef
		if ref != nil && ref.Name == template && !wf.CreationTimestamp.Time.Before(start.Truncate(time.Second)) {
			out = append(out, wf)
		}
	}
	return out
}
