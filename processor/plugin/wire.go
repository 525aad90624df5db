package plugin

import (
	"encoding/json"

	"github.com/argoproj/argo-workflows/v3/pkg/apis/workflow"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The wire types: the part of Argo's executor plugin API
// (pkg/plugins/executor) and of its Workflow (pkg/apis/workflow/v1alpha1)
// that the plugin reads and writes, in their JSON. They mirror Argo's
// types instead of importing them because importing Argo's API types
// package at all links the Kubernetes API, protobuf and grpc-gateway, and
// turns off the linker's pruning of unused methods: the pod image's
// binary would grow from 11.5 MB to 35 MB, past the 20 MiB its test
// allows. The tests hold these to Argo's own types: every request is
// marshalled from executorplugins.ExecuteTemplateArgs, replies are read
// back by Argo's RPC client into executorplugins.ExecuteTemplateReply, and
// a submitted Workflow is decoded into wfv1.Workflow.

// executeArgs is executorplugins.ExecuteTemplateArgs: the workflow the
// node is of, and the node's template, of which only its name and its
// plugin field are read.
type executeArgs struct {
	Workflow *struct {
		Metadata workflowMeta `json:"metadata"`
	} `json:"workflow"`
	Template *struct {
		Name   string                     `json:"name"`
		Plugin map[string]json.RawMessage `json:"plugin"`
	} `json:"template"`
}

// workflowMeta is executorplugins.ObjectMeta.
type workflowMeta struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
}

// executeReply is executorplugins.ExecuteTemplateReply: {} when the node
// is not this plugin's.
type executeReply struct {
	Node *nodeResult `json:"node,omitempty"`
}

// nodeResult is wfv1.NodeResult.
type nodeResult struct {
	Phase   nodePhase `json:"phase,omitempty"`
	Message string    `json:"message,omitempty"`
	Outputs *outputs  `json:"outputs,omitempty"`
}

// nodePhase is wfv1.NodePhase; a plugin node ends Succeeded or Failed.
type nodePhase string

const (
	succeededPhase nodePhase = "Succeeded" // wfv1.NodeSucceeded
	failedPhase    nodePhase = "Failed"    // wfv1.NodeFailed
)

// outputs is wfv1.Outputs: parameters and the exitCode the retry
// expression reads (lastRetry.exitCode).
type outputs struct {
	Parameters []parameter `json:"parameters,omitempty"`
	ExitCode   *string     `json:"exitCode,omitempty"`
}

// parameter is wfv1.Parameter with a value, which Argo writes as a JSON
// string (wfv1.AnyString).
type parameter struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// workflowObject is the wfv1.Workflow Submit creates: a run of a
// WorkflowTemplate with arguments.
type workflowObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              workflowSpec `json:"spec"`
}

// workflowSpec is the part of wfv1.WorkflowSpec a submitted Workflow sets.
type workflowSpec struct {
	WorkflowTemplateRef struct {
		Name string `json:"name"`
	} `json:"workflowTemplateRef"`
	Arguments struct {
		Parameters []parameter `json:"parameters"`
	} `json:"arguments"`
}

// workflowType is a Workflow's apiVersion and kind.
var workflowType = metav1.TypeMeta{APIVersion: workflow.APIVersion, Kind: workflow.WorkflowKind}
