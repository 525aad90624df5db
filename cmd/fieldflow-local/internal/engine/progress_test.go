package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wffake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/fieldflow/fieldflow/processor/rules"
)

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Progress
		want string
	}{
		{"nothing yet", Progress{Elapsed: 1400 * time.Millisecond},
			"[1s] workflows: none yet · files: 0 done, 0 left"},
		{"working", Progress{
			Elapsed:   65 * time.Second,
			Workflows: map[wfv1.WorkflowPhase]int{wfv1.WorkflowUnknown: 1, wfv1.WorkflowRunning: 2, wfv1.WorkflowSucceeded: 40, wfv1.WorkflowFailed: 1},
			Files: map[rules.State]int{rules.Done: 20, rules.Waiting: 3, rules.Quarantined: 1,
				rules.Ready: 5, rules.Stale: 1, rules.Running: 2, rules.Retrying: 4},
		}, "[1m5s] workflows: 1 new, 2 running, 40 succeeded, 1 failed · files: 20 done, 3 waiting, 1 quarantined, 12 left"},
		{"settled", Progress{
			Elapsed:   3 * time.Minute,
			Workflows: map[wfv1.WorkflowPhase]int{wfv1.WorkflowSucceeded: 192, wfv1.WorkflowFailed: 3},
			Files:     map[rules.State]int{rules.Done: 43, rules.Waiting: 7, rules.Quarantined: 1, rules.OutOfRange: 12, rules.Failed: 1, rules.Rejected: 2},
		}, "[3m0s] workflows: 192 succeeded, 3 failed · files: 43 done, 7 waiting, 1 failed, 1 quarantined, 12 out-of-range, 2 rejected, 0 left"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestDeadline(t *testing.T) {
	secs := func(n int64) *int64 { return &n }
	tmpl := func(d *int64) *wfv1.WorkflowTemplate {
		return &wfv1.WorkflowTemplate{Spec: wfv1.WorkflowSpec{ActiveDeadlineSeconds: d}}
	}
	for _, tc := range []struct {
		name      string
		templates []*wfv1.WorkflowTemplate
		want      time.Duration
	}{
		{"longest", []*wfv1.WorkflowTemplate{tmpl(secs(60)), tmpl(secs(3600)), tmpl(nil)}, time.Hour},
		{"one", []*wfv1.WorkflowTemplate{tmpl(secs(90))}, 90 * time.Second},
		{"none set", []*wfv1.WorkflowTemplate{tmpl(nil)}, time.Hour},
	} {
		m := &Manifests{Templates: tc.templates}
		if got := m.Deadline(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestOverdue wants --once to end with the names of the workflows still
// running once one is unfinished past the templates' deadline and the
// grace, and not before.
func TestOverdue(t *testing.T) {
	hour := int64(3600)
	m := &Manifests{Namespace: "fieldflow", Templates: []*wfv1.WorkflowTemplate{{Spec: wfv1.WorkflowSpec{ActiveDeadlineSeconds: &hour}}}}
	wf := func(name string, age time.Duration, phase wfv1.WorkflowPhase) *wfv1.Workflow {
		w := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "fieldflow",
			CreationTimestamp: metav1.NewTime(time.Now().Add(-age))}}
		w.Status.Phase = phase
		if phase.Completed() {
			w.Labels = map[string]string{common.LabelKeyCompleted: "true"}
		}
		return w
	}
	for _, tc := range []struct {
		name string
		wfs  []runtime.Object
		want string // "" for no error, else a part of it
	}{
		{"young", []runtime.Object{wf("a", 30*time.Minute, wfv1.WorkflowRunning)}, ""},
		{"within the grace", []runtime.Object{wf("a", time.Hour+time.Minute, wfv1.WorkflowRunning)}, ""},
		{"old but finished", []runtime.Object{wf("a", 3*time.Hour, wfv1.WorkflowSucceeded)}, ""},
		{"stuck", []runtime.Object{wf("old", 2*time.Hour, wfv1.WorkflowRunning), wf("young", time.Minute, wfv1.WorkflowPending)},
			"1 workflows unfinished past the templates' deadline of 1h0m0s (+2m0s): old (Running since"},
		{"stuck and new", []runtime.Object{wf("old", 2*time.Hour, wfv1.WorkflowUnknown)}, "old (new since"},
	} {
		e := &Engine{manifests: m, argo: wffake.NewSimpleClientset(tc.wfs...)}
		err := e.overdue(context.Background())
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want no error", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
		if tc.name == "stuck" && err != nil && !strings.Contains(err.Error(), "still running: old young") && !strings.Contains(err.Error(), "still running: young old") {
			t.Errorf("%s: %v, want every unfinished workflow named", tc.name, err)
		}
	}
}
