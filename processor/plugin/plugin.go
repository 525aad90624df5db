// Package plugin is the contract between the generated WorkflowTemplates
// and fieldflow's Argo executor plugin: the plugin's name and objects, the
// operations a template's plugin node asks for, and the output parameters
// each answers with.
//
// Argo runs every plugin node of a workflow in one agent pod, whose
// fieldflow sidecar (`fieldflow plugin`) answers POST
// /api/v1/template.execute. The generator writes these types into the
// templates (`plugin: {fieldflow: Op}`) and the sidecar reads them back,
// so a name here is never typed twice.
package plugin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Name is the plugin's name: the key under a template's `plugin:`.
const Name = "fieldflow"

// Objects Argo finds the plugin by: its ConfigMap (labelled
// workflows.argoproj.io/configmap-type: ExecutorPlugin), and the service
// account whose token the sidecar gets (Argo mounts the token of the
// account named like the ConfigMap when automountServiceAccountToken is
// set). The sidecar container is named the same.
const (
	ConfigMap      = Name + "-executor-plugin"
	ServiceAccount = Name + "-executor-plugin"
	Container      = Name + "-executor-plugin"
)

// Port is the sidecar's port in the agent pod; Argo's agent calls
// http://localhost:Port. Above 10000, as Argo asks of unpublished plugins.
const Port = 17655

// Paths inside the sidecar where Argo mounts what it needs: the agent's
// bearer token (common.VarRunArgoPath, with the container's own subPath)
// and the service account token (common.ServiceAccountTokenMountPath).
const (
	TokenPath         = "/var/run/argo/token"
	ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"
)

// Op is the body of a fieldflow plugin node: exactly one field is set.
type Op struct {
	Check   *Check   `json:"check,omitempty"`
	Verdict *Verdict `json:"verdict,omitempty"`
	Ready   *Ready   `json:"ready,omitempty"`
	Submit  *Submit  `json:"submit,omitempty"`
	Status  *Status  `json:"status,omitempty"`
}

// Check judges one dependency check of an input. The node succeeds with
// the check's reason as its message, and outputs OutputReady ("true" or
// "false"), OutputReason and OutputState.
type Check struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// Verdict judges an input whose checks did not all hold (the not-ready
// task): the node succeeds with the reason as its message, and outputs
// OutputState (waiting, out-of-range, ...) and OutputReason.
type Verdict struct {
	Key string `json:"key"`
}

// Ready lists one page of the inputs that can run now, in run order: all
// of them, or those that finishing After released. At most Limit, and
// never more than pipeline.PageBytes of keys. The node outputs one
// parameter per asset kind, named after it, holding that kind's keys as a
// JSON array for withParam.
type Ready struct {
	After string `json:"after,omitempty"`
	Limit int    `json:"limit"`
}

// Submit creates one Workflow of Template for the key Item, in the
// workflow's own namespace, with Labels. Item is a withParam item as Argo
// v3.7 substitutes it: a string item is JSON-encoded with its quotes cut
// off, so the sidecar reads it back as the body of a JSON string. The
// Workflow's name is derived from the submitting workflow and the key, so
// a submit that runs again (a retry, a restarted agent) finds it made and
// creates no second one. The node outputs OutputWorkflow.
type Submit struct {
	Template string            `json:"template"`
	Item     string            `json:"item"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// Status counts every input by state: the node outputs one parameter per
// rules.State, named after it, and OutputOldestWaiting.
type Status struct{}

// Output parameters of the plugin nodes.
const (
	OutputReady         = "ready"
	OutputReason        = "reason"
	OutputState         = "state"
	OutputWorkflow      = "workflow"
	OutputOldestWaiting = "oldest_waiting_seconds"
)

// ItemKey reads back the key a withParam item carried: Argo v3.7 makes a
// string item by JSON-encoding it and cutting off the quotes (wfv1.Item's
// String), so the item is the body of a JSON string.
func ItemKey(item string) (string, error) {
	var key string
	if err := json.Unmarshal([]byte(`"`+item+`"`), &key); err != nil {
		return "", fmt.Errorf("withParam item %q is no JSON string body: %w", item, err)
	}
	return key, nil
}

// WorkflowName is the name of the Workflow of template that the workflow
// with UID parent submits for key: the same every time that workflow
// submits that key, so a repeated submit finds the first one's Workflow,
// and short enough for a label value (63 characters) whatever the key.
func WorkflowName(template, parent, key string) string {
	sum := sha256.Sum256([]byte(parent + "\x00" + key))
	return template + "-" + hex.EncodeToString(sum[:])[:10]
}
