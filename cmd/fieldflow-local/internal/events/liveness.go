package events

import (
	"context"
	"time"
)

// livenessPeriod is how often the EventSource's listeners are counted
// (a variable for tests), and unhealthyChecks how many counts in a row
// may fall short before it is restarted.
var livenessPeriod = 5 * time.Second

const unhealthyChecks = 2

// watchListeners restarts the EventSource process when fewer of its events
// are listened to than it declares, as a liveness probe would. Argo Events
// v1.9.7 recovers a panic in an event's listener (a publish on the bus
// connection its reconnect daemon set to nil, during a bus outage) and
// lets that listener end for good while the process lives on; its own
// argo_events_event_service_running_total drops when it does. What was
// uploaded meanwhile is the reconcile's.
func watchListeners(ctx context.Context, o Options, es *child) {
	want := float64(len(o.EventSource.Spec.Minio))
	g := Gatherer(o.StateDir)
	short := 0
	tick := time.NewTicker(livenessPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n := runningServices(g, o.EventSource.Name)
		if n >= want {
			short = 0
			continue
		}
		if short++; short < unhealthyChecks {
			continue
		}
		o.Log.Warn("EventSource listens to fewer events than it declares; restarting it, as a liveness probe would",
			"eventsource", o.EventSource.Name, "listening", n, "declared", want, "log", es.LogPath())
		es.Kill()
		short = -12 // a minute to start again before counting
	}
}
