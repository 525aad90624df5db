// Command fieldflow-events is the event path of the local engine, one
// process per part as pods are in a cluster, started and restarted by
// fieldflow-local:
//
//	fieldflow-events eventbus DIR      NATS with JetStream, the EventBus
//	fieldflow-events eventsource DIR   Argo Events' eventsource adaptor
//	fieldflow-events sensor DIR        Argo Events' sensor service
package main

import (
	"log/slog"
	"os"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/events/child"
)

func main() {
	if err := child.Main(os.Args[1:]); err != nil {
		slog.Error("fieldflow-events failed", "err", err)
		os.Exit(1)
	}
}
