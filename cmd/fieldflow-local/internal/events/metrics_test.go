package events

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"net"
	"net/http"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// TestGatherer: a child's metrics, served on its socket, appear beside
// the engine's own; a dead child's socket and a missing one are skipped.
func TestGatherer(t *testing.T) {
	state := t.TempDir()
	serveChild(t, names.EventsChild(state, "sensor-minio"), "argo_events_action_triggered_total", 3)
	dead := names.EventsChild(state, "eventsource-minio")
	if err := os.MkdirAll(dead, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dead, MetricsSocket), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	own := prometheus.NewRegistry()
	own.MustRegister(collectors.NewGoCollector())
	fams, err := prometheus.Gatherers{own, Gatherer(state)}.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			found[f.GetName()] += m.GetCounter().GetValue()
		}
	}
	if found["argo_events_action_triggered_total"] != 3 {
		t.Errorf("child's counter: %v", found["argo_events_action_triggered_total"])
	}
	if _, ok := found["go_goroutines"]; !ok {
		t.Error("the engine's own metrics are missing")
	}
}

// serveChild serves one counter at value on dir's metrics socket.
func serveChild(t *testing.T, dir, name string, value float64) {
	t.Helper()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "test"}, []string{"sensor_name"})
	c.WithLabelValues("minio").Add(value)
	serveCollector(t, dir, c)
}

// serveCollector serves c on dir's metrics socket, as a child does.
func serveCollector(t *testing.T, dir string, c prometheus.Collector) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	l, err := net.Listen("unix", filepath.Join(dir, MetricsSocket))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
}
