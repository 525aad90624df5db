// Package names holds the names the local engine shares with the processes
// around it: the fieldflow CLI that starts it, the bench, the tests, and a
// person poking at it. The files of its state folder are its interface, as
// a kubeconfig is a cluster's, so their paths are defined here once (Argo
// keeps its own such names in workflow/common). It imports nothing.
package names

import "path/filepath"

// Defaults of the engine's flags, which `fieldflow run` passes on.
const (
	// DefaultStateDir is the state folder, relative to where it runs.
	DefaultStateDir = ".cache/local"
	// DefaultMetricsAddr is where the controller's /metrics is served,
	// Prometheus' own default port, unless another engine has it.
	DefaultMetricsAddr = "127.0.0.1:9090"
)

// Kubeconfig is the engine's kubeconfig, written once the API server and
// Argo's controller are up and removed at start: its presence means up.
func Kubeconfig(state string) string { return filepath.Join(state, "kubeconfig") }

// UIToken holds the bearer token of Argo's UI ("Bearer ...", 0600).
func UIToken(state string) string { return filepath.Join(state, "argo-ui.token") }

// EventsDir holds the event path's processes: the bus, the EventSources
// and the Sensors, each in a folder of its own (EventsChild).
func EventsDir(state string) string { return filepath.Join(state, "events") }

// EventsReady exists once the event path is ready, until the engine stops
// or restarts: what a test or a script waits for before uploading.
func EventsReady(state string) string { return filepath.Join(EventsDir(state), "ready") }

// EventsChild is the folder of one process of the event path: eventbus,
// eventsource-NAME or sensor-NAME.
func EventsChild(state, name string) string { return filepath.Join(EventsDir(state), name) }

// PIDFile is where a supervised process running in dir writes its id.
func PIDFile(dir string) string { return filepath.Join(dir, "pid") }

// Labels Argo Events' triggers put on the objects they create
// (sensors/triggers), which have no exported name for them.
const (
	SensorLabel  = "events.argoproj.io/sensor"
	TriggerLabel = "events.argoproj.io/trigger"
)
