package events

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"time"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/pki"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// waitReady returns once the EventSource listens to every event it
// declares and the Sensor has a durable consumer on the bus for every
// trigger: the Sensor's consumers start at new events, so an event
// published before they exist would reach nobody.
func waitReady(ctx context.Context, o Options, bus *busClient) error {
	wantServices := float64(len(o.EventSource.Spec.Minio))
	wantConsumers := len(o.Sensor.Spec.Triggers)
	g := Gatherer(o.StateDir)
	var services float64
	var consumers int
	ready := func() bool {
		services, consumers = runningServices(g, o.EventSource.Name), bus.consumers()
		return services >= wantServices && consumers >= wantConsumers
	}
	if err := poll(ctx, 500*time.Millisecond, 3*time.Minute, ready); err != nil {
		return fmt.Errorf("event path %w: %v of %v events listened to, %d of %d sensor consumers (logs in %s)",
			err, services, wantServices, consumers, wantConsumers, names.EventsDir(o.StateDir))
	}
	return os.WriteFile(names.EventsReady(o.StateDir), nil, 0o600)
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

// busClient is how the engine reaches the bus: as the EventSource and
// Sensor do, with the engine's client certificate, loaded once.
type busClient struct {
	addr string
	tls  *tls.Config
}

func newBusClient(addr string, ca *pki.CA, p pki.Pair) (*busClient, error) {
	cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("event bus client certificate: %w", err)
	}
	return &busClient{addr: addr, tls: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert}}}, nil
}

func (b *busClient) connect() (*nats.Conn, error) {
	return nats.Connect("nats://"+b.addr, nats.Secure(b.tls), nats.Timeout(2*time.Second))
}

// consumers counts the consumers of Argo Events' stream; 0 when the bus
// does not answer.
func (b *busClient) consumers() int {
	nc, err := b.connect()
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

// wait waits until the bus accepts a client, so that the EventSource and
// the Sensor do not start against a server still starting.
func (b *busClient) wait(ctx context.Context, limit time.Duration) error {
	var err error
	answers := func() bool {
		var nc *nats.Conn
		if nc, err = b.connect(); err == nil {
			nc.Close()
		}
		return err == nil
	}
	if perr := poll(ctx, 200*time.Millisecond, limit, answers); perr != nil {
		return fmt.Errorf("%s: %w: %v", b.addr, perr, err)
	}
	return nil
}

// errNotYet is poll's error when its limit passes.
var errNotYet = errors.New("not yet")

// poll calls done every period until it holds, ctx ends or limit passes.
func poll(ctx context.Context, period, limit time.Duration, done func() bool) error {
	deadline := time.Now().Add(limit)
	for !done() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s", errNotYet, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(period):
		}
	}
	return nil
}
