package engine

import (
	"context"
	"fmt"
	"io"
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
// something can still run. It shows its progress on w while it works and
// returns the number of this run's workflows in each phase.
//
// A workflow still unfinished past the templates' longest deadline (plus
// a grace) ends the run with an error naming it: Argo fails a workflow at
// its deadline, so one still running then is stuck.
func (e *Engine) Once(ctx context.Context, w io.Writer) (Result, error) {
	return e.Drive(ctx, w, e.replay)
}

// Drive runs feed, which brings the inputs (a replay, or uploads the event
// path turns into workflows), then waits as Once does until nothing more
// can run, showing progress on w all along.
func (e *Engine) Drive(ctx context.Context, w io.Writer, feed func(context.Context) error) (Result, error) {
	t0 := time.Now()
	start := t0.Truncate(time.Second) // creationTimestamp has whole seconds
	before0, err := apiCost()
	if err != nil {
		return Result{}, err
	}
	pctx, stopProgress := context.WithCancel(ctx)
	defer stopProgress()
	go e.showProgress(pctx, w, start)
	if err := feed(ctx); err != nil {
		return Result{}, err
	}
	var before []string
	for {
		if err := e.waitIdle(ctx); err != nil {
			return Result{}, err
		}
		ready, err := e.proc.Ready(ctx, "")
		if err != nil {
			return Result{}, err
		}
		if len(ready) == 0 {
			break
		}
		if strings.Join(ready, "\n") == strings.Join(before, "\n") {
			return Result{}, fmt.Errorf("%d inputs stay ready after a reconcile, e.g. %s: see `kubectl get wf`", len(ready), ready[0])
		}
		before = ready
		if err := e.Reconcile(ctx); err != nil {
			return Result{}, err
		}
	}
	stopProgress()
	r := Result{Elapsed: time.Since(t0)}
	wfs, err := e.workflowsSince(ctx, start)
	if err != nil {
		return Result{}, err
	}
	r.Phases = countPhases(wfs)
	after, err := apiCost()
	if err != nil {
		return Result{}, err
	}
	r.Cost = after.minus(before0)
	states, err := e.fileStates(ctx)
	if err != nil {
		return Result{}, err
	}
	for _, n := range states {
		r.Inputs += n
	}
	return r, nil
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
	unfinished := metav1.ListOptions{LabelSelector: unfinishedSelector, Limit: 1}
	for n := 1; idle < 2; n++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if n%20 == 0 {
			if err := e.overdue(ctx); err != nil {
				return err
			}
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

// unfinishedSelector selects the workflows Argo has not labelled completed.
var unfinishedSelector = common.LabelKeyCompleted + "!=true"

// deadlineGrace is how long past its deadline a workflow may take to be
// failed by Argo: the controller's requeue and the kubelet's kill.
const deadlineGrace = 2 * time.Minute

// Deadline is the longest activeDeadlineSeconds of the templates, an hour
// when none sets one: no workflow of these templates runs longer.
func (m *Manifests) Deadline() time.Duration {
	longest := time.Duration(0)
	for _, wt := range m.Templates {
		if d := wt.Spec.ActiveDeadlineSeconds; d != nil {
			longest = max(longest, time.Duration(*d)*time.Second)
		}
	}
	if longest == 0 {
		return time.Hour
	}
	return longest
}

// overdue fails when a workflow is unfinished past the templates' deadline
// and the grace, and names the workflows still running.
func (e *Engine) overdue(ctx context.Context) error {
	list, err := e.argo.ArgoprojV1alpha1().Workflows(e.manifests.Namespace).List(ctx, metav1.ListOptions{LabelSelector: unfinishedSelector})
	if err != nil {
		return fmt.Errorf("list workflows: %w", err)
	}
	limit := e.manifests.Deadline() + deadlineGrace
	var late []string
	for _, wf := range list.Items {
		if time.Since(wf.CreationTimestamp.Time) > limit {
			late = append(late, fmt.Sprintf("%s (%s since %s)", wf.Name, phaseOf(&wf), wf.CreationTimestamp.UTC().Format(time.RFC3339)))
		}
	}
	if len(late) == 0 {
		return nil
	}
	var running []string
	for _, wf := range list.Items {
		running = append(running, wf.Name)
	}
	return fmt.Errorf("%d workflows unfinished past the templates' deadline of %s (+%s): %s; still running: %s",
		len(late), e.manifests.Deadline(), deadlineGrace, strings.Join(late, ", "), strings.Join(running, " "))
}

func phaseOf(wf *wfv1.Workflow) wfv1.WorkflowPhase {
	if wf.Status.Phase == wfv1.WorkflowUnknown {
		return "new"
	}
	return wf.Status.Phase
}

// workflowsSince lists the workflows created at or after start: this
// run's, not those an earlier run left for inspection.
func (e *Engine) workflowsSince(ctx context.Context, start time.Time) ([]wfv1.Workflow, error) {
	list, err := e.argo.ArgoprojV1alpha1().Workflows(e.manifests.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	var out []wfv1.Workflow
	for _, wf := range list.Items {
		if !wf.CreationTimestamp.Time.Before(start) {
			out = append(out, wf)
		}
	}
	return out, nil
}

func countPhases(wfs []wfv1.Workflow) map[wfv1.WorkflowPhase]int {
	out := map[wfv1.WorkflowPhase]int{}
	for _, wf := range wfs {
		out[wf.Status.Phase]++
	}
	return out
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
