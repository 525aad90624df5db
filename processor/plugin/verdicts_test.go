package plugin

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	executorplugins "github.com/argoproj/argo-workflows/v3/pkg/plugins/executor"

	"github.com/fieldflow/fieldflow/processor/rules"
)

// counting makes s count its judgements, and returns the count.
func counting(s *Server) *atomic.Int64 {
	var n atomic.Int64
	judge := s.verdicts.judge
	s.verdicts.judge = func(ctx context.Context, key string) (rules.Verdict, error) {
		n.Add(1)
		return judge(ctx, key)
	}
	return &n
}

// workflowNodes are the plugin nodes of a field's workflow: its three
// check tasks, then its not-ready task.
func workflowNodes(t *testing.T, uid, key string) (checks []executorplugins.ExecuteTemplateArgs, verdict executorplugins.ExecuteTemplateArgs) {
	for _, name := range []string{"start-date", "box-processed", "earlier-dates-processed"} {
		a := opArgs(t, Op{Check: &Check{Key: key, Name: name}})
		a.Workflow.ObjectMeta.UID = uid
		checks = append(checks, a)
	}
	verdict = opArgs(t, Op{Verdict: &Verdict{Key: key}})
	verdict.Workflow.ObjectMeta.UID = uid
	return checks, verdict
}

// TestVerdictOnce: the three checks of a workflow, arriving at once, and
// its not-ready task judge the input once; another workflow judges it
// again.
func TestVerdictOnce(t *testing.T) {
	s, st := fixture(t)
	n := counting(s)
	checks, verdict := workflowNodes(t, uid, fieldWaiting)
	var wg sync.WaitGroup
	results := make([]wfv1.NodeResult, len(checks))
	errs := make([]error, len(checks))
	for i, a := range checks {
		wg.Go(func() { results[i], errs[i] = tryExecute(s, a) })
	}
	wg.Wait()
	for i, r := range results {
		if errs[i] != nil || r.Phase != wfv1.NodeSucceeded {
			t.Errorf("check %d: %v %s %q", i, errs[i], r.Phase, r.Message)
		}
	}
	if got := params(results[1])[OutputReady]; got != "false" {
		t.Errorf("box-processed ready = %s, want false", got)
	}
	if r := execute(t, s, verdict); r.Phase != wfv1.NodeSucceeded || params(r)[OutputState] != "waiting" {
		t.Errorf("verdict: %s %v", r.Phase, params(r))
	}
	if got := n.Load(); got != 1 {
		t.Errorf("%d judgements for 3 checks and a verdict of one workflow, want 1", got)
	}
	lists := st.lists.Load()

	other, _ := workflowNodes(t, "another-uid", fieldWaiting)
	execute(t, s, other[0])
	if got := n.Load(); got != 2 {
		t.Errorf("%d judgements after another workflow's check, want 2", got)
	}
	if st.lists.Load() <= lists {
		t.Errorf("another workflow's check listed nothing: it read the first workflow's verdict")
	}
}

// TestVerdictErrorNotKept: a judgement that failed is made again by the
// retry, and that one is kept.
func TestVerdictErrorNotKept(t *testing.T) {
	s, st := fixture(t)
	n := counting(s)
	checks, verdict := workflowNodes(t, uid, fieldWaiting)
	st.failing.Store(true)
	if r := execute(t, s, checks[0]); r.Phase != wfv1.NodeFailed || exit(r) != "1" {
		t.Fatalf("check with the store down: %s exitCode %s", r.Phase, exit(r))
	}
	st.failing.Store(false)
	for _, a := range append(checks, verdict) {
		if r := execute(t, s, a); r.Phase != wfv1.NodeSucceeded {
			t.Errorf("%s %q", r.Phase, r.Message)
		}
	}
	if got := n.Load(); got != 2 {
		t.Errorf("%d judgements, want 2: the failed one and the one kept", got)
	}
}

// TestVerdictCancelled: a request that gives up does not fail the others
// waiting on the same judgement.
func TestVerdictCancelled(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	var n atomic.Int64
	c := newVerdicts(func(ctx context.Context, key string) (rules.Verdict, error) {
		n.Add(1)
		started <- struct{}{}
		<-release
		return rules.Verdict{Key: key, State: rules.Ready}, ctx.Err()
	}, 4)
	first, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.get(first, uid, "k"); errc <- err }()
	<-started
	second := make(chan rules.Verdict, 1)
	go func() { v, _ := c.get(context.Background(), uid, "k"); second <- v }()
	cancel()
	if err := <-errc; err == nil {
		t.Error("the cancelled request got a verdict")
	}
	close(release)
	if v := <-second; v.State != rules.Ready {
		t.Errorf("the other request got %+v", v)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("%d judgements, want 1", got)
	}
}

// TestVerdictBound: the cache keeps the newest size verdicts.
func TestVerdictBound(t *testing.T) {
	var n atomic.Int64
	c := newVerdicts(func(_ context.Context, key string) (rules.Verdict, error) {
		n.Add(1)
		return rules.Verdict{Key: key}, nil
	}, 3)
	ctx := context.Background()
	for i := range 5 {
		c.get(ctx, fmt.Sprint("wf", i), "k")
	}
	if len(c.kept) != 3 || len(c.order) != 3 {
		t.Errorf("%d kept, %d in order, want 3", len(c.kept), len(c.order))
	}
	c.get(ctx, "wf4", "k") // kept
	c.get(ctx, "wf0", "k") // dropped: judged again
	if got := n.Load(); got != 6 {
		t.Errorf("%d judgements, want 6", got)
	}
	c.get(ctx, "", "k") // no workflow: never kept
	c.get(ctx, "", "k")
	if got := n.Load(); got != 8 || len(c.kept) != 3 {
		t.Errorf("%d judgements, %d kept; want 8 and 3", got, len(c.kept))
	}
}
