package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"maps"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/minio/minio-go/v7/pkg/notification"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/engine"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopSharedUp()
	s3test.Stop()
	os.Exit(code)
}

// TestMinioThroughArgo uploads the sample to a real MinIO bucket in a
// random order (fields before their box, late files, an invalid file)
// while the engine's event path (Argo Events' EventSource and Sensor on
// the JetStream bus) listens, and wants every file to end as the rules
// say, each started by one workflow of the Sensor. Then, on the same engine: duplicate
// notifications for one upload produce one output, and a file uploaded
// while the engine was down is processed by the reconcile when it comes
// back.
func TestMinioThroughArgo(t *testing.T) {
	local, fieldflow := binaries(t)
	srv := s3test.Require(t)
	bucket := srv.Bucket(t)
	store, env := "s3://"+bucket.Bucket(), srv.Env()

	sample := t.TempDir()
	run(t, fieldflow, "sample", "--store", sample, "--faults", "--boxes", "2")
	want := map[string]string{}
	for _, v := range judge(t, fieldflow, sample) {
		want[v.Key] = v.State
	}
	state := filepath.Join(t.TempDir(), "state")
	w := startWatch(t, local, state, env, "--store", store)
	waitEventsReady(t, w, state)
	uploadShuffled(t, bucket, sample)
	w.settle(12*time.Minute, "every upload judged as in process", func() bool {
		return maps.Equal(states(t, fieldflow, store, env...), want)
	})
	checkFieldNodes(t, w.workflows(t.Context()), want)
	checkSensorMade(t, w.workflows(t.Context()), want)

	box := firstBox(t, sample)
	duplicates(t, w, bucket, fieldflow, store, env, box)
	reupload(t, w, bucket, fieldflow, store, env, box)

	w.Stop()
	lost := newBox(t, bucket, box)
	w = startWatch(t, local, state, env, "--store", store)
	w.settle(5*time.Minute, "upload made while the engine was down processed", func() bool {
		return states(t, fieldflow, store, env...)[lost] == "done"
	})
	reconciled := false
	for _, wf := range w.workflows(t.Context()) {
		if wf.Spec.WorkflowTemplateRef != nil && wf.Spec.WorkflowTemplateRef.Name == "fieldflow-reconcile" &&
			wf.CreationTimestamp.Time.After(w.start) && wf.Status.Phase == wfv1.WorkflowSucceeded {
			reconciled = true
		}
	}
	if !reconciled {
		t.Errorf("no reconcile workflow Succeeded after the engine came back")
	}
}

// checkSensorMade wants one workflow from Argo Events' minio Sensor for
// every uploaded input, with the trigger of its asset's template: the
// uploads went through the upstream event path, each delivered once.
func checkSensorMade(t *testing.T, wfs []wfv1.Workflow, want map[string]string) {
	t.Helper()
	for key := range want {
		made := bySensor(byKey(wfs, key))
		if len(made) != 1 {
			t.Errorf("%s: %d workflows from the minio Sensor, want 1", key, len(made))
			continue
		}
		if tmpl := made[0].Spec.WorkflowTemplateRef.Name; made[0].Labels[names.TriggerLabel] != tmpl {
			t.Errorf("%s: workflow %s of template %s has trigger label %q", key, made[0].Name, tmpl, made[0].Labels[names.TriggerLabel])
		}
	}
}

// uploadShuffled puts every file of the sample folder into the bucket: a
// shuffled half of the field files, then the boxes, then the rest.
func uploadShuffled(t *testing.T, bucket *s3store.Store, sample string) {
	var boxes, fields []string
	for _, key := range sampleKeys(t, sample) {
		if strings.HasPrefix(key, "boxes/") {
			boxes = append(boxes, key)
		} else {
			fields = append(fields, key)
		}
	}
	seed := uint64(time.Now().UnixNano())
	r := mathrand.New(mathrand.NewPCG(seed, seed))
	r.Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
	r.Shuffle(len(boxes), func(i, j int) { boxes[i], boxes[j] = boxes[j], boxes[i] })
	half := len(fields) / 2
	order := append(append(append([]string{}, fields[:half]...), boxes...), fields[half:]...)
	t.Logf("uploading %d files in shuffle order %d", len(order), seed)
	for _, key := range order {
		b, err := os.ReadFile(filepath.Join(sample, key))
		if err != nil {
			t.Fatal(err)
		}
		if err := bucket.Put(t.Context(), key, bytes.NewReader(b), nil); err != nil {
			t.Fatal(err)
		}
	}
}

// duplicates uploads a new box and delivers its notification twice more
// through the generated Sensor, as an at-least-once queue may: the
// workflows take turns on their mutex and only the first writes the output.
func duplicates(t *testing.T, w *watcher, bucket *s3store.Store, fieldflow, store string, env []string, box string) {
	key := newBox(t, bucket, box)
	info, err := bucket.Stat(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	m, err := engine.LoadManifests("")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		wfs, err := m.Triggered([]notification.Event{engine.Created(key, info.Size, info.Version)})
		if err != nil || len(wfs) != 1 {
			t.Fatalf("the minio Sensor made %d workflows of %s: %v", len(wfs), key, err)
		}
		if _, err := w.argo.ArgoprojV1alpha1().Workflows(w.ns).Create(t.Context(), wfs[0], metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w.settle(3*time.Minute, "duplicates done", func() bool {
		return len(byKey(w.workflows(t.Context()), key)) >= 3
	})
	if s := states(t, fieldflow, store, env...)[key]; s != "done" {
		t.Fatalf("%s is %s after three notifications, want done", key, s)
	}
	wfs := byKey(w.workflows(t.Context()), key)
	wrote := 0
	var spans [][2]time.Time
	for _, wf := range wfs {
		if wf.Status.Phase != wfv1.WorkflowSucceeded {
			t.Errorf("duplicate workflow %s: %s", wf.Name, wf.Status.Phase)
		}
		if output(wf, "process", "records") != "0" {
			wrote++
		}
		for _, n := range wf.Status.Nodes {
			if n.DisplayName == "process" {
				spans = append(spans, [2]time.Time{n.StartedAt.Time, n.FinishedAt.Time})
			}
		}
	}
	if len(wfs) != 3 || wrote != 1 || len(spans) != 3 {
		t.Errorf("%d workflows for %s, %d wrote records: want 3 and 1", len(wfs), key, wrote)
	}
	for i := range spans {
		for j := range i {
			if spans[i][0].Before(spans[j][1]) && spans[j][0].Before(spans[i][1]) {
				t.Errorf("duplicate workflows ran at the same time (%v and %v): their process steps overlapped: the mutex did not hold", spans[i], spans[j])
			}
		}
	}
}

// reupload processes a box, then uploads a corrected version of it while
// the engine listens: the new version's notification must reprocess it
// (the old output no longer matches its input), and the output must then
// hold the new content and name the workflow that wrote it.
func reupload(t *testing.T, w *watcher, bucket *s3store.Store, fieldflow, store string, env []string, box string) {
	key := newBox(t, bucket, box)
	w.settle(3*time.Minute, "new box done", func() bool {
		return states(t, fieldflow, store, env...)[key] == "done"
	})
	first := read(t, bucket, key)
	corrected := first + first // every record twice: valid, and a different output
	if err := bucket.Put(t.Context(), key, strings.NewReader(corrected), nil); err != nil {
		t.Fatal(err)
	}
	out := "boxes/output/" + strings.TrimPrefix(key, "boxes/input/")
	want := strings.ReplaceAll(corrected, `"is_processed": false`, `"is_processed": true`)
	w.settle(3*time.Minute, "the corrected upload reprocessed", func() bool {
		return states(t, fieldflow, store, env...)[key] == "done" && read(t, bucket, out) == want
	})
	info, err := bucket.Stat(t.Context(), out)
	if err != nil {
		t.Fatal(err)
	}
	wrote := info.Metadata["fieldflow-workflow"]
	found := false
	for _, wf := range byKey(w.workflows(t.Context()), key) {
		found = found || wf.Name == wrote
	}
	if !found {
		t.Errorf("the output's metadata %v names no workflow of %s", info.Metadata, key)
	}
}

func read(t *testing.T, bucket *s3store.Store, key string) string {
	t.Helper()
	rc, _, err := bucket.Open(t.Context(), key)
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// firstBox returns the key of a box in the sample folder.
func firstBox(t *testing.T, sample string) string {
	entries, err := os.ReadDir(filepath.Join(sample, "boxes", "input"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no boxes in the sample: %v", err)
	}
	return filepath.Join(sample, "boxes", "input", entries[0].Name())
}

// newBox uploads the box file at path as a box of a new id.
func newBox(t *testing.T, bucket *s3store.Store, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 16)
	rand.Read(raw)
	id := hex.EncodeToString(raw)
	old := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "bounding_box_"), ".jsonl")
	b = bytes.ReplaceAll(b, []byte(old), []byte(id))
	key := "boxes/input/bounding_box_" + id + ".jsonl"
	if err := bucket.Put(t.Context(), key, bytes.NewReader(b), nil); err != nil {
		t.Fatal(err)
	}
	return key
}
