package e2e

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/engine"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
	"github.com/fieldflow/fieldflow/generator"
	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
)

// minioEvents names the generated EventSource and Sensor the engine runs
// when the store is MinIO.
const minioEvents = "minio"

// eventPath is what the generated minio EventSource and Sensor declare:
// the names Argo Events' counters are labelled with.
type eventPath struct {
	source, sensor string
	prefixes       map[string]string // event name → key prefix it listens to
	triggers       []string
}

// minioEventPath reads the generated EventSource and Sensor the engine
// runs, so the test follows the manifests instead of repeating them.
func minioEventPath(t *testing.T) eventPath {
	t.Helper()
	m, err := engine.LoadManifests("")
	if err != nil {
		t.Fatal(err)
	}
	p := eventPath{prefixes: map[string]string{}}
	for _, src := range m.Sources {
		if src.Name != minioEvents {
			continue
		}
		p.source = src.Name
		for name, a := range src.Spec.Minio {
			if a.Filter == nil || a.Filter.Prefix == "" {
				t.Fatalf("EventSource %s: event %s has no key prefix", src.Name, name)
			}
			p.prefixes[name] = a.Filter.Prefix
		}
	}
	for _, s := range m.Sensors {
		if s.Name != minioEvents {
			continue
		}
		p.sensor = s.Name
		for _, tr := range s.Spec.Triggers {
			p.triggers = append(p.triggers, tr.Template.Name)
		}
	}
	if p.source == "" || p.sensor == "" || len(p.prefixes) == 0 || len(p.triggers) == 0 {
		t.Fatalf("the manifests have no %s EventSource with events and Sensor with triggers: %+v", minioEvents, p)
	}
	return p
}

// waitEventsReady waits for the engine's ready file: before it, the
// EventSource may not listen yet or the Sensor not consume, and an upload
// would reach nobody (the reconcile would run it, but no event counter
// would count it).
func waitEventsReady(t *testing.T, w *watcher, state string) {
	t.Helper()
	start := time.Now()
	for {
		if _, err := os.Stat(names.EventsReady(state)); err == nil {
			t.Logf("event path ready %s after the engine", time.Since(start).Round(time.Second))
			return
		}
		if time.Since(start) > 3*time.Minute {
			t.Fatalf("no %s after 3 minutes\n%s", names.EventsReady(state), w.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// uploadSample puts every file of the sample folder into the bucket and
// returns how many went under each event's prefix. One input of each
// event goes first, alone, and the rest once Prometheus has the counters
// those made: Argo Events creates a counter's series at its first
// increment, and rate() cannot see the increase up to a series' first
// sample, so a sample uploaded between two scrapes would show no rate.
func uploadSample(t *testing.T, prom *prometheus, bucket *s3store.Store, sample string, path eventPath, inputs map[string]string) map[string]int {
	t.Helper()
	keys := sampleKeys(t, sample)
	first := firstInputs(keys, path, inputs)
	uploads := map[string]int{}
	put := func(key string) {
		b, err := os.ReadFile(filepath.Join(sample, key))
		if err != nil {
			t.Fatal(err)
		}
		if err := bucket.Put(t.Context(), key, bytes.NewReader(b), nil); err != nil {
			t.Fatal(err)
		}
		for name, prefix := range path.prefixes {
			if strings.HasPrefix(key, prefix) {
				uploads[name]++
			}
		}
	}
	for _, key := range first {
		put(key)
	}
	sel := fmt.Sprintf(`{eventsource_name=%q}`, path.source)
	prom.waitFor(2*time.Minute, fmt.Sprintf(`count(%sevents_sent_total%s) == %d`, generator.ArgoEventsPrefix, sel, len(path.prefixes)))
	sel = fmt.Sprintf(`{sensor_name=%q}`, path.sensor)
	prom.waitFor(2*time.Minute, fmt.Sprintf(`count(%saction_triggered_total%s) == %d`, generator.ArgoEventsPrefix, sel, len(path.triggers)))
	for _, key := range keys {
		if !slices.Contains(first, key) {
			put(key)
		}
	}
	t.Logf("uploaded %d files: %v under each event's prefix", len(keys), uploads)
	return uploads
}

// sampleKeys lists the files of the sample folder as keys, in order.
func sampleKeys(t *testing.T, sample string) []string {
	t.Helper()
	var keys []string
	err := filepath.WalkDir(sample, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		key, err := filepath.Rel(sample, path)
		keys = append(keys, filepath.ToSlash(key))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// firstInputs is the first input under each event's prefix: one upload
// each event sends and each trigger creates a Workflow for.
func firstInputs(keys []string, path eventPath, inputs map[string]string) []string {
	var out []string
	for _, prefix := range path.prefixes {
		for _, key := range keys {
			if _, ok := inputs[key]; ok && strings.HasPrefix(key, prefix) {
				out = append(out, key)
				break
			}
		}
	}
	return out
}

// checkEventCounts wants Argo Events' counters, as Prometheus has them, to
// count what happened: one event sent per upload under each event's
// prefix (the EventSource filters by prefix only, so a file the Sensor's
// filters drop counts too), and one trigger per Workflow the Sensor
// labelled as its own.
func checkEventCounts(t *testing.T, prom *prometheus, w *watcher, path eventPath, uploads map[string]int) {
	t.Helper()
	triggered := sensorWorkflows(t, w, path.sensor)
	for _, tr := range path.triggers {
		if triggered[tr] == 0 {
			t.Errorf("no Workflow of the %s Sensor's trigger %s: %v", path.sensor, tr, triggered)
		}
	}
	for _, c := range []struct {
		what, metric, by string
		sel              string
		want             map[string]int
	}{
		{"events sent", "events_sent_total", "event_name", fmt.Sprintf(`eventsource_name=%q`, path.source), uploads},
		{"workflows triggered", "action_triggered_total", "trigger_name", fmt.Sprintf(`sensor_name=%q`, path.sensor), triggered},
	} {
		expr := fmt.Sprintf(`sum by (%s) (%s%s{namespace=%q, %s})`, c.by, generator.ArgoEventsPrefix, c.metric, w.ns, c.sel)
		prom.waitCounts(time.Minute, c.what, expr, c.by, c.want)
	}
}

// sensorWorkflows counts the Workflows the Sensor created, by trigger:
// Argo Events labels each with both names.
func sensorWorkflows(t *testing.T, w *watcher, sensor string) map[string]int {
	t.Helper()
	list, err := w.argo.ArgoprojV1alpha1().Workflows(w.ns).List(t.Context(), metav1.ListOptions{LabelSelector: names.SensorLabel + "=" + sensor})
	if err != nil {
		t.Fatalf("list the %s Sensor's workflows: %v", sensor, err)
	}
	out := map[string]int{}
	for _, wf := range list.Items {
		out[wf.Labels[names.TriggerLabel]]++
	}
	return out
}

// waitCounts waits until expr's series, keyed by their label by, hold
// want's counts exactly, and fails with what Prometheus has if they do
// not within limit: the last scrape may lag the last event.
func (p *prometheus) waitCounts(limit time.Duration, what, expr, by string, want map[string]int) {
	p.t.Helper()
	var got map[string]int
	for start := time.Now(); time.Since(start) < limit; time.Sleep(time.Second) {
		got = map[string]int{}
		for _, s := range p.query(expr) {
			got[s.labels[by]] = int(s.value)
			if s.value != float64(int(s.value)) {
				got[s.labels[by]] = -1 // a counter of events is whole
			}
		}
		if maps.Equal(got, want) {
			p.t.Logf("%s: %v, as %s", what, got, expr)
			return
		}
	}
	p.t.Errorf("%s: Prometheus has %v for %s, want %v", what, got, expr, want)
}
