package processor

import (
	"maps"
	"testing"
	"time"

	"github.com/fieldflow/fieldflow/processor/rules"
)

// TestCount checks what the reconcile's gauges read: a count for every
// state, zeros included, and the age of the oldest waiting input by
// modification time, which an older input in another state must not raise.
func TestCount(t *testing.T) {
	now := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	v := func(s rules.State, age time.Duration) rules.Verdict {
		return rules.Verdict{State: s, Modified: now.Add(-age)}
	}
	for _, tc := range []struct {
		name   string
		vs     []rules.Verdict
		counts map[rules.State]int // the states not named: 0
		oldest time.Duration
		line   string
	}{
		{name: "empty store", line: "0 inputs: "},
		{
			name: "waiting and out of range",
			vs: []rules.Verdict{
				v(rules.Ready, time.Minute),
				v(rules.OutOfRange, 5*time.Hour), // older, but not waiting
				v(rules.Waiting, 2*time.Hour),
				v(rules.Waiting, 10*time.Minute),
			},
			counts: map[rules.State]int{rules.Ready: 1, rules.Waiting: 2, rules.OutOfRange: 1},
			oldest: 2 * time.Hour,
			line:   "4 inputs: 1 ready, 2 waiting, 1 out-of-range",
		},
		{
			name:   "modified after now",
			vs:     []rules.Verdict{v(rules.Waiting, -time.Minute), v(rules.Done, 0)},
			counts: map[rules.State]int{rules.Done: 1, rules.Waiting: 1},
			line:   "2 inputs: 1 done, 1 waiting",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Count(tc.vs, now)
			want := map[rules.State]int{}
			for _, s := range rules.States {
				want[s] = tc.counts[s]
			}
			if !maps.Equal(c.ByState, want) || c.Total != len(tc.vs) {
				t.Errorf("counts %v of %d, want %v of %d", c.ByState, c.Total, want, len(tc.vs))
			}
			if c.OldestWaiting != tc.oldest {
				t.Errorf("oldest waiting %s, want %s", c.OldestWaiting, tc.oldest)
			}
			if got := c.String(); got != tc.line {
				t.Errorf("String() = %q, want %q", got, tc.line)
			}
		})
	}
}
