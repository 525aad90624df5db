package generator

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// specOnly is an object as the generator writes it: kind, metadata and
// spec, no status. Argo's CronWorkflow and Workflow marshal their zero
// status with nulls (status.active, status.startedAt: those fields have no
// omitempty) that tell the API server nothing and that a strategic merge
// patch over the object would read as deletions.
type specOnly[S any] struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              S `json:"spec"`
}
