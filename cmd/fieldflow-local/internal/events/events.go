// Package events runs the event side of a cluster on one machine with Argo
// Events' own code: a NATS JetStream server as the EventBus, the generated
// minio EventSource through Argo Events' eventsource adaptor, and the
// generated minio Sensor through its sensor service. Each runs as a
// process of the fieldflow-events binary beside fieldflow-local (package
// child), started by the engine as each is a pod in a cluster, and is
// restarted when it exits: Argo Events ends its process on a lost bus
// connection or leadership, and expects to be restarted.
//
// Only what must differ on one machine is changed: the MinIO endpoint,
// bucket and credentials (the user's), the bus URL and its TLS files (the
// embedded server's, as a jetstreamExotic EventBus names them), and the
// API server (the engine's kubeconfig, as the Sensor's service account).
package events

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// Options for the event path.
type Options struct {
	StateDir    string // the engine's state folder; the event path keeps its own in events/
	Kubeconfig  string // the engine's admin kubeconfig
	EventSource *ev.EventSource
	Sensor      *ev.Sensor
	MinIO       MinIO
	Log         *slog.Logger
}

// MinIO is the server the EventSource listens to.
type MinIO struct {
	Endpoint  string // host:port
	Secure    bool
	Bucket    string
	AccessKey string
	SecretKey string
}

// Start prepares the bus, EventSource and Sensor and runs each under a
// supervisor until ctx ends. It returns once the EventSource listens and
// the Sensor consumes (see waitReady), and writes names.EventsReady then.
func Start(ctx context.Context, o Options) error {
	bin, err := binary()
	if err != nil {
		return err
	}
	os.Remove(names.EventsReady(o.StateDir))
	if err := ensureMountPoint(); err != nil {
		return err
	}
	ch, bus, err := prepare(o)
	if err != nil {
		return err
	}
	for _, c := range ch {
		c.bin = bin
		go c.Supervise(ctx, o.Log)
		if c.kind == KindBus {
			if err := bus.wait(ctx, time.Minute); err != nil {
				return fmt.Errorf("event bus: %w (see %s)", err, c.LogPath())
			}
		}
	}
	if err := waitReady(ctx, o, bus); err != nil {
		return err
	}
	go watchListeners(ctx, o, ch[1])
	return nil
}

// binary is fieldflow-events beside this executable, which make local
// builds with it.
func binary() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("events: %w", err)
	}
	bin := filepath.Join(filepath.Dir(self), "fieldflow-events")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("the MinIO event path needs fieldflow-events beside %s (`make local` builds both): %w", self, err)
	}
	return bin, nil
}
