// Package argoevents holds the generated EventBus, EventSources, Sensors
// and sensor RBAC (make generate writes the YAML beside this file). They
// are embedded so that the local engine filters notifications exactly as
// the checked-in Sensors do.
package argoevents

import "embed"

// FS holds every YAML file of this folder.
//
//go:embed *.yaml
var FS embed.FS
