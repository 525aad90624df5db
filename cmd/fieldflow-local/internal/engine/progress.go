package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/fieldflow/fieldflow/processor/rules"
)

// How often progress is shown: a terminal's line is redrawn every second;
// a pipe or a CI log gets a plain line every few seconds. Counting costs a
// listing of the store and of every workflow (20,000 in a backlog), so
// both are counted at the slower pace and a redraw moves the clock.
const (
	redrawEvery = time.Second
	plainEvery  = 5 * time.Second
)

// Progress is a snapshot of a --once run.
type Progress struct {
	Elapsed   time.Duration
	Workflows map[wfv1.WorkflowPhase]int // this run's workflows by phase
	Files     map[rules.State]int        // every input by state
}

// workflowPhases orders phases as a run goes: what is left first.
var workflowPhases = []wfv1.WorkflowPhase{wfv1.WorkflowUnknown, wfv1.WorkflowPending, wfv1.WorkflowRunning,
	wfv1.WorkflowSucceeded, wfv1.WorkflowFailed, wfv1.WorkflowError}

// final are the states an input keeps until something changes in the store;
// the others are left to run.
var final = []rules.State{rules.Done, rules.Waiting, rules.Quarantined, rules.OutOfRange, rules.Failed, rules.Rejected}

// String is the one-line form, the same on a terminal and in a log:
//
//	[1m05s] workflows: 2 running, 40 succeeded · files: 20 done, 3 waiting, 1 quarantined, 12 left
func (p Progress) String() string {
	var wf []string
	for _, phase := range workflowPhases {
		if n := p.Workflows[phase]; n > 0 {
			name := strings.ToLower(string(phase))
			if phase == wfv1.WorkflowUnknown {
				name = "new"
			}
			wf = append(wf, fmt.Sprintf("%d %s", n, name))
		}
	}
	if len(wf) == 0 {
		wf = []string{"none yet"}
	}
	var files []string
	left := 0
	for _, s := range rules.States {
		n := p.Files[s]
		switch {
		case !slices.Contains(final, s):
			left += n
		case n > 0 || s == rules.Done:
			files = append(files, fmt.Sprintf("%d %s", n, s))
		}
	}
	files = append(files, fmt.Sprintf("%d left", left))
	return fmt.Sprintf("[%s] workflows: %s · files: %s", p.Elapsed.Round(time.Second), strings.Join(wf, ", "), strings.Join(files, ", "))
}

// isTerminal says whether w is a character device, where a line can be
// redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// showProgress writes the run's progress to w until ctx ends: redrawn in
// place on a terminal, a plain line every plainEvery otherwise. A failed
// count is skipped, not fatal: progress is for the person watching.
func (e *Engine) showProgress(ctx context.Context, w io.Writer, start time.Time) {
	tty := isTerminal(w)
	every := plainEvery
	if tty {
		every = redrawEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var p Progress
	var counted time.Time
	for {
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(w)
			}
			return
		case <-tick.C:
		}
		if !tty || time.Since(counted) >= plainEvery { // a 5 s tick may come a hair early
			p, counted = e.count(ctx, start, p), time.Now()
		}
		p.Elapsed = time.Since(start)
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", p)
		} else {
			fmt.Fprintln(w, p)
		}
	}
}

// count refreshes last's workflows and files; a count that fails keeps
// its last value.
func (e *Engine) count(ctx context.Context, start time.Time, last Progress) Progress {
	if wfs, err := e.workflowsSince(ctx, start); err == nil {
		last.Workflows = countPhases(wfs)
	}
	if f, err := e.fileStates(ctx); err == nil {
		last.Files = f
	}
	return last
}

func (e *Engine) fileStates(ctx context.Context) (map[rules.State]int, error) {
	vs, err := e.proc.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := map[rules.State]int{}
	for _, v := range vs {
		out[v.State]++
	}
	return out, nil
}
