package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	"github.com/minio/minio-go/v7/pkg/notification"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// Once plays an upload notification for every file in the store through
// the generated Sensor, as if each had just arrived, so that every input
// gets its workflow (a waiting one shows its checks and not-ready). It
// waits for every workflow to finish, then reconciles while the rules say
// something can still run. It returns the number of workflows in each phase.
func (e *Engine) Once(ctx context.Context) (map[wfv1.WorkflowPhase]int, error) {
	if err := e.replay(ctx); err != nil {
		return nil, err
	}
	var before []string
	for {
		if err := e.waitIdle(ctx); err != nil {
			return nil, err
		}
		ready, err := e.proc.Ready(ctx, "")
		if err != nil {
			return nil, err
		}
		if len(ready) == 0 {
			break
		}
		if strings.Join(ready, "\n") == strings.Join(before, "\n") {
			return nil, fmt.Errorf("%d inputs stay ready after a reconcile, e.g. %s: see `kubectl get wf`", len(ready), ready[0])
		}
		before = ready
		if err := e.Reconcile(ctx); err != nil {
			return nil, err
		}
	}
	return e.phases(ctx)
}

// replay notifies every object under the input folders once.
func (e *Engine) replay(ctx context.Context) error {
	for _, a := range e.proc.Pipeline().Assets {
		for info, err := range e.proc.Store().List(ctx, a.InputPrefix+"/") {
			if err != nil {
				return fmt.Errorf("replay: %w", err)
			}
			e.notify(ctx, []notification.Event{Created(info.Key, info.Size, info.Version)})
		}
	}
	return nil
}

// Reconcile starts the reconcile template, as its CronWorkflow does.
func (e *Engine) Reconcile(ctx context.Context) error {
	wf := &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{GenerateName: pipeline.ReconcileTemplate + "-", Namespace: e.manifests.Namespace},
		Spec:       wfv1.WorkflowSpec{WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: pipeline.ReconcileTemplate}},
	}
	_, err := e.argo.ArgoprojV1alpha1().Workflows(e.manifests.Namespace).Create(ctx, wf, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("submit reconcile: %w", err)
	}
	return nil
}

// waitIdle returns once every workflow has finished, twice in a row (a
// finishing release step may just have created more). It asks for one
// workflow that Argo has not labelled completed: listing them all, four
// times a second, cost a third of the engine's CPU.
func (e *Engine) waitIdle(ctx context.Context) error {
	idle := 0
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	unfinished := metav1.ListOptions{LabelSelector: common.LabelKeyCompleted + "!=true", Limit: 1}
	for idle < 2 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		list, err := e.argo.ArgoprojV1alpha1().Workflows(e.manifests.Namespace).List(ctx, unfinished)
		if err != nil {
			return fmt.Errorf("list workflows: %w", err)
		}
		if len(list.Items) > 0 {
			idle = 0
			continue
		}
		idle++
	}
	return nil
}

func (e *Engine) phases(ctx context.Context) (map[wfv1.WorkflowPhase]int, error) {
	list, err := e.argo.ArgoprojV1alpha1().Workflows(e.manifests.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	out := map[wfv1.WorkflowPhase]int{}
	for _, wf := range list.Items {
		out[wf.Status.Phase]++
	}
	return out, nil
}

// FormatPhases prints phase counts in a stable order.
func FormatPhases(p map[wfv1.WorkflowPhase]int) string {
	var parts []string
	total := 0
	for phase, n := range p {
		parts = append(parts, fmt.Sprintf("%d %s", n, phase))
		total += n
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d workflows: %s", total, strings.Join(parts, ", "))
}
