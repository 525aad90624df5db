package processor

import (
	"fmt"
	"strings"
	"time"

	"github.com/fieldflow/fieldflow/processor/rules"
)

// Counts sums up a Status: how many inputs are in each state, and how long
// the oldest waiting one has waited. `fieldflow status` prints it and the
// executor plugin's status node outputs it for the reconcile's gauges: a
// count alone cannot tell a file that waits a minute for its box from one
// that has waited a week for an upload that never came.
type Counts struct {
	Total         int
	ByState       map[rules.State]int // every state in rules.States, zeros too
	OldestWaiting time.Duration       // 0 when none waits
}

// Count sums up vs at now.
func Count(vs []rules.Verdict, now time.Time) Counts {
	c := Counts{Total: len(vs), ByState: map[rules.State]int{}}
	for _, s := range rules.States {
		c.ByState[s] = 0
	}
	var oldest time.Time
	for _, v := range vs {
		c.ByState[v.State]++
		if v.State == rules.Waiting && (oldest.IsZero() || v.Modified.Before(oldest)) {
			oldest = v.Modified
		}
	}
	if !oldest.IsZero() {
		c.OldestWaiting = max(now.Sub(oldest), 0)
	}
	return c
}

// String is the one-line summary: "63 inputs: 43 done, 7 waiting, ...",
// the states in rules.States order, those with none left out.
func (c Counts) String() string {
	var parts []string
	for _, s := range rules.States {
		if n := c.ByState[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return fmt.Sprintf("%d inputs: %s", c.Total, strings.Join(parts, ", "))
}
