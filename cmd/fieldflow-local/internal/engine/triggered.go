package engine

import (
	"context"
	"fmt"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// Workflows lists every workflow of the engine's namespace.
func (e *Engine) Workflows(ctx context.Context) ([]wfv1.Workflow, error) {
	list, err := e.argo.ArgoprojV1alpha1().Workflows(e.manifests.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	return list.Items, nil
}

// WaitTriggered waits until every input among keys has a workflow started
// for it, or limit has passed: then it says how many have none and
// returns, for a reconcile to start those.
func (e *Engine) WaitTriggered(ctx context.Context, keys []string, limit time.Duration) error {
	want := map[string]bool{}
	for _, key := range keys {
		if _, err := e.proc.Pipeline().Parse(key); err == nil {
			want[key] = true
		}
	}
	deadline := time.Now().Add(limit)
	for {
		wfs, err := e.Workflows(ctx)
		if err != nil {
			return err
		}
		for _, wf := range wfs {
			delete(want, KeyOf(&wf))
		}
		missing := len(want)
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			e.log.Warn("inputs without a workflow after their upload; the reconcile will start them", "inputs", missing, "waited", limit)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// KeyOf is the input a workflow of an asset's template was started for,
// "" for another workflow.
func KeyOf(wf *wfv1.Workflow) string {
	if p := wf.Spec.Arguments.GetParameterByName(pipeline.KeyParam); p != nil && p.Value != nil {
		return p.Value.String()
	}
	return ""
}
