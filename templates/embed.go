// Package templates holds the generated WorkflowTemplates, CronWorkflow and
// workflow RBAC (make generate writes the YAML beside this file). They are
// embedded so that the local engine runs exactly what is checked in.
package templates

import "embed"

// FS holds every YAML file of this folder.
//
//go:embed *.yaml
var FS embed.FS
