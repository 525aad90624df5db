package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/engine"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"
)

// TestEventPathFaults runs the MinIO event path (Argo Events' EventSource
// and Sensor on the JetStream bus) through a bad day, on one engine: keys
// a URL or a shell would mangle, uploads that are no input, a deletion,
// the bus killed in the middle of uploads, and MinIO restarted in the
// middle of uploads. Every input must end done with one output written,
// and each Workflow the Sensor made must carry the exact key.
func TestEventPathFaults(t *testing.T) {
	local, fieldflow := binaries(t)
	srv := s3test.Require(t)
	bucket := srv.Bucket(t)
	store, env := "s3://"+bucket.Bucket(), srv.Env()
	sample := t.TempDir()
	run(t, fieldflow, "sample", "--store", sample, "--boxes", "1")
	state := filepath.Join(t.TempDir(), "state")
	w := startWatch(t, local, state, env, "--store", store)
	waitEventsReady(t, w, state)

	t.Run("odd keys", func(t *testing.T) { oddKeys(t, w, bucket, fieldflow, store, env, sample) })
	t.Run("bus killed", func(t *testing.T) { busKilled(t, w, bucket, fieldflow, store, env, state, firstBox(t, sample)) })
	t.Run("minio restarted", func(t *testing.T) { minioRestarted(t, w, srv, bucket, fieldflow, store, env, firstBox(t, sample)) })
}

// oddKeys uploads copies of a field file under keys with a space, a plus,
// quotes, percent signs, URL characters and UTF-8, then their box (which
// releases them through its release step, Argo's withParam), then files
// that are no input, a key fieldflow refuses (a backslash), and deletions.
// Each input key must reach its template exactly, once through the Sensor
// and again through the release, and end done; the refused key fails its
// one workflow with the reason; the others reach nothing.
func oddKeys(t *testing.T, w *watcher, bucket *s3store.Store, fieldflow, store string, env []string, sample string) {
	boxKey, fieldKey := boxAndField(t, sample)
	field := readFile(t, sample, fieldKey)
	stem := strings.TrimSuffix(fieldKey, ".jsonl")
	var odd []string
	for _, suffix := range []string{" late+1", ` "quoted" 'too'`, "%20%2B", "_é_日本", " a&b=c?d#e <x>"} {
		key := stem + suffix + ".jsonl"
		odd = append(odd, key)
		put(t, bucket, key, field)
	}
	put(t, bucket, boxKey, readFile(t, sample, boxKey))
	refused := stem + `back\slash.jsonl`
	put(t, bucket, refused, field)
	dir := filepath.Dir(fieldKey)
	ignored := []string{"fields/input/readme.txt", dir + "/notes.txt", "boxes/input/readme.txt", "other/" + filepath.Base(fieldKey)}
	for _, key := range ignored {
		put(t, bucket, key, []byte("not an input\n"))
	}
	inputs := append([]string{boxKey}, odd...)
	w.settle(8*time.Minute, "odd keys done", func() bool {
		return allDone(t, fieldflow, store, env, inputs) && len(byKey(w.workflows(t.Context()), refused)) > 0
	})
	wfs := w.workflows(t.Context())
	uploaded := map[string]bool{}
	for _, key := range inputs {
		uploaded[key] = true
		if got := bySensor(byKey(wfs, key)); len(got) != 1 {
			t.Errorf("%q: %d workflows from the Sensor, want 1", key, len(got))
		}
	}
	for _, wf := range wfs {
		switch key := engine.KeyOf(&wf); {
		case key == refused:
			checkRefused(t, &wf)
		case key != "" && !uploaded[key]:
			t.Errorf("workflow %s (%s) runs on %q, which nobody uploaded", wf.Name, wf.Status.Phase, key)
		case wf.Status.Phase != wfv1.WorkflowSucceeded:
			t.Errorf("workflow %s of %q: %s %s", wf.Name, key, wf.Status.Phase, wf.Status.Message)
		}
	}
	for _, key := range ignored {
		if got := byKey(wfs, key); len(got) != 0 {
			t.Errorf("%q is no input but started %s", key, got[0].Name)
		}
	}
	// The Sensor's workflows only: the reconcile's CronWorkflow may fire
	// meanwhile (every 5 minutes), and it is no trigger.
	before := len(bySensor(pointers(wfs)))
	for _, key := range []string{odd[0], ignored[0]} {
		if err := bucket.Delete(t.Context(), key); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Second) // time for a wrong trigger to show
	if after := len(bySensor(pointers(w.workflows(t.Context())))); after != before {
		t.Errorf("deleting two objects made %d workflows from the Sensor", after-before)
	}
}

// checkRefused wants the refused key's workflow from the Sensor, failed
// by fieldflow's key check with the reason, not retried.
func checkRefused(t *testing.T, wf *wfv1.Workflow) {
	t.Helper()
	if wf.Labels[names.SensorLabel] == "" || wf.Status.Phase != wfv1.WorkflowFailed {
		t.Errorf("refused key: workflow %s from sensor %q is %s, want Failed from the Sensor", wf.Name, wf.Labels[names.SensorLabel], wf.Status.Phase)
	}
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && !strings.Contains(n.Message, "contains a backslash") {
			t.Errorf("refused key: step %s says %q", n.DisplayName, n.Message)
		}
	}
}

// busKilled uploads 30 new boxes, 300 ms apart, while the bus process is
// killed after the 4th and again each time the engine has started it
// again, three times: an outage of several seconds, the restarts backing
// off. Uploads the dead bus could not take are the reconcile's; every box
// must end done, each output written once, and the path must deliver
// again afterwards by itself.
func busKilled(t *testing.T, w *watcher, bucket *s3store.Store, fieldflow, store string, env []string, state, box string) {
	pidFile := names.PIDFile(names.EventsChild(state, "eventbus"))
	var keys []string
	killed, last := 0, 0
	for i := range 30 {
		if pid := readPID(t, pidFile); i >= 4 && killed < 3 && pid != last && syscall.Kill(pid, 0) == nil {
			last = killPID(t, pidFile)
			killed++
		}
		keys = append(keys, newBox(t, bucket, box))
		time.Sleep(300 * time.Millisecond)
	}
	waitRestarted(t, w, pidFile, last)
	delivered := settleAfterFault(t, w, bucket, fieldflow, store, env, box, keys)
	t.Logf("bus killed %d times during 30 uploads: the bus delivered %d, the reconcile caught %d", killed, delivered, len(keys)-delivered)
}

// minioRestarted stops MinIO in the middle of uploads and starts it again:
// minio-go's listener, inside the EventSource, must reconnect by itself.
func minioRestarted(t *testing.T, w *watcher, srv *s3test.Server, bucket *s3store.Store, fieldflow, store string, env []string, box string) {
	var keys []string
	for range 3 {
		keys = append(keys, newBox(t, bucket, box))
	}
	srv.Stop()
	time.Sleep(3 * time.Second)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		keys = append(keys, newBox(t, bucket, box))
		time.Sleep(300 * time.Millisecond)
	}
	delivered := settleAfterFault(t, w, bucket, fieldflow, store, env, box, keys)
	t.Logf("MinIO restarted between 6 uploads (3 before the stop, 3 right after the restart): the listener delivered %d, the reconcile caught %d", delivered, len(keys)-delivered)
}

// settleAfterFault, once a fault is over, wants the path to have recovered
// (afterRecovery), counts the keys the event path delivered, runs the
// reconcile for the rest, and wants every box done with one output.
func settleAfterFault(t *testing.T, w *watcher, bucket *s3store.Store, fieldflow, store string, env []string, box string, keys []string) (delivered int) {
	t.Helper()
	after := afterRecovery(t, w, bucket, box)
	delivered = deliveredByBus(w, keys)
	reconcile(t, w)
	all := append(keys, after...)
	w.settle(5*time.Minute, "every box done after the fault", func() bool { return allDone(t, fieldflow, store, env, all) })
	checkOneOutput(t, w, all)
	if b, err := os.ReadFile(w.log); err == nil {
		t.Logf("liveness restarts of the EventSource so far: %d", strings.Count(string(b), "EventSource listens to fewer events"))
	}
	return delivered
}

// afterRecovery uploads a new box every 15 seconds until one reaches the
// Sensor, and wants that within three minutes: the path recovers without
// a reconcile (an upload made while a listener is down is lost to it, as
// MinIO does not replay). It returns the keys it uploaded.
func afterRecovery(t *testing.T, w *watcher, bucket *s3store.Store, box string) []string {
	t.Helper()
	start := time.Now()
	var keys []string
	for time.Since(start) < 3*time.Minute {
		keys = append(keys, newBox(t, bucket, box))
		for range 15 {
			if deliveredByBus(w, keys) > 0 {
				t.Logf("the event path delivered again %s after the fault, upload %d", time.Since(start).Round(time.Second), len(keys))
				return keys
			}
			time.Sleep(time.Second)
		}
	}
	t.Fatalf("no upload reached a Sensor workflow in 3 minutes after the fault\n%s", w.tail())
	return nil
}

// deliveredByBus counts the keys the Sensor started a workflow for.
func deliveredByBus(w *watcher, keys []string) int {
	wfs, n := w.workflows(w.t.Context()), 0
	for _, key := range keys {
		if len(bySensor(byKey(wfs, key))) > 0 {
			n++
		}
	}
	return n
}

// checkOneOutput wants, for every key, one workflow that wrote records:
// a redelivered event or a reconcile after the Sensor ran gives none.
func checkOneOutput(t *testing.T, w *watcher, keys []string) {
	t.Helper()
	wfs := w.workflows(t.Context())
	for _, key := range keys {
		wrote := 0
		for _, wf := range byKey(wfs, key) {
			if r := output(wf, "process", "records"); r != "" && r != "0" {
				wrote++
			}
		}
		if wrote != 1 {
			t.Errorf("%s: %d workflows wrote its output, want 1", key, wrote)
		}
	}
}

func allDone(t *testing.T, fieldflow, store string, env, keys []string) bool {
	st := states(t, fieldflow, store, env...)
	for _, key := range keys {
		if st[key] != "done" {
			return false
		}
	}
	return true
}

// bySensor keeps the workflows the minio Sensor created.
func pointers(wfs []wfv1.Workflow) []*wfv1.Workflow {
	out := make([]*wfv1.Workflow, len(wfs))
	for i := range wfs {
		out[i] = &wfs[i]
	}
	return out
}

func bySensor(wfs []*wfv1.Workflow) []*wfv1.Workflow {
	var out []*wfv1.Workflow
	for _, wf := range wfs {
		if wf.Labels[names.SensorLabel] == "minio" && wf.Labels[names.TriggerLabel] != "" {
			out = append(out, wf)
		}
	}
	return out
}

// killPID SIGKILLs the process whose id is in path and returns the id.
func killPID(t *testing.T, path string) int {
	t.Helper()
	pid := readPID(t, path)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	t.Logf("killed %s (%d)", path, pid)
	return pid
}

// waitRestarted waits until the supervisor has started the process old
// was again.
func waitRestarted(t *testing.T, w *watcher, path string, old int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for readPID(t, path) == old || syscall.Kill(readPID(t, path), 0) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("%s not restarted in a minute\n%s", path, w.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pid
}

// boxAndField returns the sample's box and its first field file of the
// second date: the first date is before the pipeline's start date (out of
// range), and the second has no earlier dates to wait for.
func boxAndField(t *testing.T, sample string) (box, field string) {
	t.Helper()
	b := firstBox(t, sample)
	box, _ = filepath.Rel(sample, b)
	id := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(b), "bounding_box_"), ".jsonl")
	fields, err := filepath.Glob(filepath.Join(sample, "fields", "input", id, "*.jsonl"))
	if err != nil || len(fields) == 0 {
		t.Fatalf("no field files of %s in the sample: %v", id, err)
	}
	first := fieldDate(fields[0])
	for _, f := range fields {
		if fieldDate(f) != first {
			field, _ = filepath.Rel(sample, f)
			return box, field
		}
	}
	t.Fatalf("the sample's fields of %s have one date", id)
	return "", ""
}

// fieldDate is the date in a field file's name: fields_YYYY-MM-DD...
func fieldDate(path string) string {
	name := strings.TrimPrefix(filepath.Base(path), "fields_")
	return name[:min(len(name), len("2006-01-02"))]
}

func readFile(t *testing.T, dir, key string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, key))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t *testing.T, bucket *s3store.Store, key string, b []byte) {
	t.Helper()
	if err := bucket.Put(t.Context(), key, bytes.NewReader(b), nil); err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}
