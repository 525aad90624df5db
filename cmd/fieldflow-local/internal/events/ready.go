package events

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"time"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/pki"
)

// ReadyFile exists once the event path is ready, until the engine stops
// or restarts: what a test or a script waits for before uploading.
func ReadyFile(stateDir string) string { return filepath.Join(Dir(stateDir), "ready") }

// waitReady returns once the EventSource listens to every event it
// declares and the Sensor has a durable consumer on the bus for every
// trigger: the Sensor's consumers start at new events, so an event
// published before they exist would reach nobody.
func waitReady(ctx context.Context, o Options, busAddr string) error {
	wantServices := float64(len(o.EventSource.Spec.Minio))
	wantConsumers := len(o.Sensor.Spec.Triggers)
	g := Gatherer(o.StateDir)
	deadline := time.Now().Add(3 * time.Minute)
	var services float64
	var consumers int
	for {
		services = runningServices(g, o.EventSource.Name)
		consumers = busConsumers(o.StateDir, busAddr)
		if services >= wantServices && consumers >= wantConsumers {
			return os.WriteFile(ReadyFile(o.StateDir), nil, 0o600)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("event path not ready after 3m: %v of %v events listened to, %d of %d sensor consumers (logs in %s)",
				services, wantServices, consumers, wantConsumers, Dir(o.StateDir))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// runningServices is the EventSource's argo_events_event_service_running_total.
func runningServices(g prometheus.Gatherer, source string) float64 {
	fams, _ := g.Gather()
	for _, f := range fams {
		if f.GetName() != "argo_events_event_service_running_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "eventsource_name" && l.GetValue() == source {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// busConsumers counts the consumers of Argo Events' stream; 0 when the
// bus does not answer.
func busConsumers(stateDir, addr string) int {
	nc, err := connectBus(stateDir, addr)
	if err != nil {
		return 0
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return 0
	}
	info, err := js.StreamInfo(ev.JetStreamStreamName)
	if err != nil {
		return 0
	}
	return info.State.Consumers
}

// connectBus connects to the bus as the EventSource and Sensor do, with
// the engine's client certificate.
func connectBus(stateDir, addr string) (*nats.Conn, error) {
	ca, err := pki.LoadOrCreate(filepath.Join(stateDir, "pki"), "fieldflow-local")
	if err != nil {
		return nil, err
	}
	p, err := ca.Client("eventbus-client", "argo-events")
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		return nil, err
	}
	return nats.Connect("nats://"+addr, nats.Secure(&tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert}}), nats.Timeout(2*time.Second))
}

// waitBus waits until the bus accepts a client, so that the EventSource
// and the Sensor do not start against a server still starting.
func waitBus(ctx context.Context, stateDir, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		nc, err := connectBus(stateDir, addr)
		if err == nil {
			nc.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not answering after %s: %w", addr, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
