package plugin

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/rules"
)

// verdicts judges an input once per workflow. A workflow's check tasks
// arrive at its agent's sidecar at once, and its not-ready task after
// them: they share one judgement (one set of listings) instead of making
// one each, and all of them see the same verdict. An error is never kept:
// the retry of a failed check judges again.
type verdicts struct {
	judge func(ctx context.Context, key string) (rules.Verdict, error)
	size  int
	group singleflight.Group

	mu    sync.Mutex
	kept  map[verdictKey]rules.Verdict
	order []verdictKey // oldest first: dropped first once size are kept
}

// verdictKey names a verdict: an input as one workflow judged it.
type verdictKey struct{ workflow, key string }

func newVerdicts(judge func(context.Context, string) (rules.Verdict, error), size int) *verdicts {
	return &verdicts{judge: judge, size: size, kept: map[verdictKey]rules.Verdict{}}
}

// get is the verdict on key for the workflow with UID workflow: kept, being
// made by another request of the same workflow, or made now. Without a
// workflow UID nothing is shared. The verdict is shared: read it, never
// change it.
func (c *verdicts) get(ctx context.Context, workflow, key string) (rules.Verdict, error) {
	if workflow == "" {
		return c.judge(ctx, key)
	}
	k := verdictKey{workflow, key}
	if v, ok := c.lookup(k); ok {
		return v, nil
	}
	ch := c.group.DoChan(workflow+"\x00"+key, func() (any, error) { return c.make(ctx, k) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return rules.Verdict{}, r.Err
		}
		return r.Val.(rules.Verdict), nil
	case <-ctx.Done():
		return rules.Verdict{}, fmt.Errorf("judge %s: %w", key, context.Cause(ctx))
	}
}

// make judges k.key for every request waiting on it. The first request's
// cancellation does not end it (the others still wait), its deadline
// does. A panic becomes a processor.Crash: singleflight would re-panic it
// where no one recovers.
func (c *verdicts) make(ctx context.Context, k verdictKey) (v rules.Verdict, err error) {
	if v, ok := c.lookup(k); ok { // made between get's lookup and DoChan
		return v, nil
	}
	shared := context.WithoutCancel(ctx)
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		shared, cancel = context.WithDeadline(shared, d)
		defer cancel()
	}
	err = processor.Recovered(func() (err error) {
		v, err = c.judge(shared, k.key)
		return err
	})
	if err == nil {
		c.keep(k, v)
	}
	return v, err
}

func (c *verdicts) lookup(k verdictKey) (rules.Verdict, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.kept[k]
	return v, ok
}

// keep adds a verdict, dropping the oldest beyond size.
func (c *verdicts) keep(k verdictKey, v rules.Verdict) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.kept[k]; !ok {
		c.order = append(c.order, k)
	}
	c.kept[k] = v
	for len(c.order) > c.size {
		delete(c.kept, c.order[0])
		c.order = c.order[1:]
	}
}
