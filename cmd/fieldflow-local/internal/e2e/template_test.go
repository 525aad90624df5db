package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/generator"
	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// repoRoot holds templates/ and argo-events/.
const repoRoot = "../../../.."

// TestChangedTemplate runs a copy of the generated manifests whose field
// template lets `process` run once the box is processed, without waiting
// for the start-date and earlier-date checks, and retries sooner. Through
// Argo, files the checks would have held back now reach `fieldflow
// process` and fail: an out-of-range file exits ExitPermanent and is tried
// once; a file behind a quarantined one exits ExitRetry and is tried
// limit+1 times, as the template's retry expression says. With the generated template both
// Succeed with process skipped (TestSampleThroughArgo).
func TestChangedTemplate(t *testing.T) {
	local, fieldflow := binaries(t)
	manifests := changedManifests(t)

	sample := t.TempDir()
	run(t, fieldflow, "sample", "--store", sample, "--faults")
	verdicts := judge(t, fieldflow, sample)
	quarantined := pick(t, verdicts, "quarantined", "")
	behind := pick(t, verdicts, "waiting", "earlier field file "+quarantined+" (quarantined")
	early := pick(t, verdicts, "out-of-range", "")
	boxes := []string{boxOf(quarantined), boxOf(early)}

	store := t.TempDir()
	w := startWatch(t, local, filepath.Join(t.TempDir(), "state"), nil, "--store", store, "--manifests", manifests)
	for _, key := range boxes {
		copyFile(t, sample, store, key)
	}
	w.settle(3*time.Minute, "boxes processed", func() bool {
		s := states(t, fieldflow, store)
		return s[boxes[0]] == "done" && s[boxes[1]] == "done"
	})
	for _, key := range []string{quarantined, behind, early} {
		copyFile(t, sample, store, key)
	}
	w.settle(5*time.Minute, "fields tried", func() bool {
		return len(triedProcess(w, behind)) > 0 && len(triedProcess(w, early)) > 0
	})

	permanent, retry := pipeline.ExitPermanent, pipeline.ExitRetry
	for key, want := range map[string][]int{early: {permanent}, quarantined: {permanent}, behind: {retry, retry, retry}} {
		wfs := triedProcess(w, key)
		if len(wfs) != 1 {
			t.Errorf("%s: %d workflows ran process, want 1", key, len(wfs))
			continue
		}
		if got := attempts(wfs[0], "process"); !slices.Equal(got, want) {
			t.Errorf("%s: process exit codes %v, want %v (exit %d retried up to the limit, exit %d never)", key, got, want, retry, permanent)
		}
		if wfs[0].Status.Phase != wfv1.WorkflowFailed {
			t.Errorf("%s: workflow %s %s, want Failed", key, wfs[0].Name, wfs[0].Status.Phase)
		}
	}
}

// changedManifests writes the generated manifests with the field
// template's process task changed into a folder for --manifests.
func changedManifests(t *testing.T) string {
	dir := copyManifests(t)
	path := filepath.Join(dir, "templates", "fieldflow-field.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var wt wfv1.WorkflowTemplate
	if err := yaml.UnmarshalStrict(b, &wt); err != nil {
		t.Fatal(err)
	}
	const boxReady = "{{tasks.box-processed.outputs.parameters.ready}}"
	changed := 0
	for i := range wt.Spec.Templates {
		tmpl := &wt.Spec.Templates[i]
		if tmpl.DAG != nil {
			for j := range tmpl.DAG.Tasks {
				task := &tmpl.DAG.Tasks[j]
				switch task.Name {
				case "process":
					task.When, changed = boxReady+" == true", changed+1
				case "not-ready":
					task.When, changed = boxReady+" != true", changed+1
				}
			}
		}
		if tmpl.Name == "process" {
			rs := tmpl.RetryStrategy
			if rs == nil || rs.Expression != generator.RetryExpression {
				t.Fatalf("the generated process template retries on %+v; this test expects %s", rs, generator.RetryExpression)
			}
			limit := intstr.FromInt32(2)
			factor := intstr.FromInt32(1)
			rs.Limit, rs.Backoff = &limit, &wfv1.Backoff{Duration: "1s", Factor: &factor}
			changed++
		}
	}
	if changed != 3 {
		t.Fatalf("changed %d parts of the field template, want 3: the template's shape moved", changed)
	}
	out, err := yaml.Marshal(&wt)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyManifests copies the generated templates/ and argo-events/ into a
// folder for --manifests.
func copyManifests(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"templates", "argo-events"} {
		if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(filepath.Join(repoRoot, sub))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// judge runs the in-process engine on a copy of store and returns what
// the rules made of every input.
func judge(t *testing.T, fieldflow, store string) []verdict {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(store)); err != nil {
		t.Fatal(err)
	}
	run(t, fieldflow, "run", "--once", "--engine", "direct", "--store", dir)
	return verdicts(t, fieldflow, dir)
}

// pick returns the first field input in state whose reason contains
// reason and whose box was processed.
func pick(t *testing.T, vs []verdict, state, reason string) string {
	t.Helper()
	done := map[string]bool{}
	for _, v := range vs {
		done[v.Key] = v.State == "done"
	}
	for _, v := range vs {
		if v.State == state && strings.HasPrefix(v.Key, "fields/") && strings.Contains(v.Reason, reason) && done[boxOf(v.Key)] {
			return v.Key
		}
	}
	t.Fatalf("the sample has no field file %s with reason %q", state, reason)
	return ""
}

// boxOf is the bounding box key of a field key, as the sample names them.
func boxOf(field string) string {
	hex := filepath.Base(filepath.Dir(field))
	return "boxes/input/bounding_box_" + hex + ".jsonl"
}

func copyFile(t *testing.T, from, to, key string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(from, key))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(to, key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(to, ".copying")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// triedProcess returns the workflows of key whose process task ran.
func triedProcess(w *watcher, key string) []*wfv1.Workflow {
	var out []*wfv1.Workflow
	for _, wf := range byKey(w.workflows(w.t.Context()), key) {
		if len(attempts(wf, "process")) > 0 {
			out = append(out, wf)
		}
	}
	return out
}
