package generator

import (
	"encoding/json"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/fieldflow/fieldflow/processor/plugin"
)

// pluginTemplate is a template Argo runs on the workflow's agent pod
// instead of a pod of its own: its body is `plugin: {fieldflow: op}`,
// marshalled from the contract's type so that the sidecar reads exactly
// what was written. nameDefault are the output parameters the sidecar
// replies with, each followed by its default (see pluginOutputs).
func pluginTemplate(name string, op plugin.Op, nameDefault ...string) (wfv1.Template, error) {
	body, err := json.Marshal(map[string]plugin.Op{plugin.Name: op})
	if err != nil {
		return wfv1.Template{}, fmt.Errorf("plugin template %s: %w", name, err)
	}
	return wfv1.Template{
		Name:    name,
		Plugin:  &wfv1.Plugin{Object: wfv1.Object{Value: body}},
		Outputs: wfv1.Outputs{Parameters: pluginOutputs(nameDefault...)},
	}, nil
}

// pluginOutputs declares the output parameters a plugin node replies with,
// each followed by its default.
//
// A plugin node's outputs are whatever the agent reports: the controller
// sets the node's outputs to the reply's (reconcileTaskSet in
// workflow/controller/taskset.go). They are declared all the same because
// validation only lets a task refer to {{tasks.X.outputs.parameters.NAME}}
// (when, withParam) and a metric read a name the template declares
// (addOutputsToScope in workflow/validate), and an output parameter must
// name where its value comes from. Of the valueFrom kinds, `supplied`
// says it: the value is supplied from outside (for a suspend node, by
// whoever resumes it; here, by the plugin). A path or a fixed value would
// claim a source that is never read.
//
// The default is what a node that failed reports. For a pod Argo puts in
// the default of an output it cannot read; for a plugin node nothing does,
// so the sidecar, which gets the template with each request, replies the
// declared defaults when it fails. Without them the metrics of a failed
// node (not-ready's state label, status's gauges) would not resolve, and
// Argo would mark the workflow with a MetricsError.
func pluginOutputs(nameDefault ...string) []wfv1.Parameter {
	var out []wfv1.Parameter
	for i := 0; i+1 < len(nameDefault); i += 2 {
		out = append(out, wfv1.Parameter{
			Name:      nameDefault[i],
			ValueFrom: &wfv1.ValueFrom{Supplied: &wfv1.SuppliedValueFrom{}, Default: wfv1.AnyStringPtr(nameDefault[i+1])},
		})
	}
	return out
}
