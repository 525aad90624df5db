package events

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
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
		serveGauge(t, names.EventsChild(state, "eventsource-minio"), tc.listening)
		es := newChild(KindEventSource, state, "eventsource-minio", false)
		es.Command = func(ctx context.Context) *exec.Cmd { return exec.CommandContext(ctx, "sleep", "30") }
		done := make(chan error, 1)
		go func() { done <- es.Run(t.Context()) }()
		waitRunning(t, es)
		src := &ev.EventSource{Spec: ev.EventSourceSpec{Minio: map[string]ev.S3Artifact{"box": {}, "field": {}}}}
		src.Name = "minio"
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		go watchListeners(ctx, Options{StateDir: state, EventSource: src, Log: slog.Default()}, es)
		select {
		case <-done:
			if !tc.killed {
				t.Errorf("%v of 2 listening: killed", tc.listening)
			}
		case <-ctx.Done():
			if tc.killed {
				t.Errorf("%v of 2 listening: not killed", tc.listening)
			}
			es.Kill()
			<-done
		}
		cancel()
	}
}

// waitRunning waits until the child's process has started.
func waitRunning(t *testing.T, c *child) {
	t.Helper()
	for range 500 {
		if _, err := os.Stat(names.PIDFile(c.Dir)); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s did not start", c.Name)
}

// serveGauge serves the EventSource's running-services gauge on dir's socket.
func serveGauge(t *testing.T, dir string, value float64) {
	t.Helper()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "argo_events_event_service_running_total", Help: "test"}, []string{"eventsource_name"})
	g.WithLabelValues("minio").Set(value)
	serveCollector(t, dir, g)
}
