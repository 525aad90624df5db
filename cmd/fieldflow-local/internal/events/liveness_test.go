package events

import (
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	"github.com/prometheus/client_golang/prometheus"
)

// TestWatchListeners: an EventSource that listens to one of its two
// events is killed for its supervisor to restart; one that listens to
// both is left alone.
func TestWatchListeners(t *testing.T) {
	livenessPeriod = 20 * time.Millisecond
	for _, tc := range []struct {
		listening float64
		killed    bool
	}{{listening: 2, killed: false}, {listening: 1, killed: true}} {
		state := t.TempDir()
		serveGauge(t, filepath.Join(Dir(state), "eventsource-minio"), tc.listening)
		proc := exec.Command("sleep", "30")
		if err := proc.Start(); err != nil {
			t.Fatal(err)
		}
		es := &child{name: "eventsource-minio", dir: filepath.Join(Dir(state), "eventsource-minio"), proc: proc.Process}
		src := &ev.EventSource{Spec: ev.EventSourceSpec{Minio: map[string]ev.S3Artifact{"box": {}, "field": {}}}}
		src.Name = "minio"
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		go watchListeners(ctx, Options{StateDir: state, EventSource: src, Log: slog.Default()}, es)
		done := make(chan error, 1)
		go func() { done <- proc.Wait() }()
		select {
		case <-done:
			if !tc.killed {
				t.Errorf("%v of 2 listening: killed", tc.listening)
			}
		case <-ctx.Done():
			if tc.killed {
				t.Errorf("%v of 2 listening: not killed", tc.listening)
			}
			proc.Process.Kill()
		}
		cancel()
	}
}

// serveGauge serves the EventSource's running-services gauge on dir's socket.
func serveGauge(t *testing.T, dir string, value float64) {
	t.Helper()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "argo_events_event_service_running_total", Help: "test"}, []string{"eventsource_name"})
	g.WithLabelValues("minio").Set(value)
	serveCollector(t, dir, g)
}
