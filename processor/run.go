package processor

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/fieldflow/fieldflow/processor/rules"
)

// Summary counts what a run did.
type Summary struct {
	Processed   int `json:"processed"`
	Quarantined int `json:"quarantined"`
	Failed      int `json:"failed"`
}

// Attempts and backoff for errors worth retrying, as the Argo templates'
// retry strategy does.
const (
	attempts = 3
	backoff  = 200 * time.Millisecond
)

// RunOnce processes everything that can run until nothing more can, the
// way the Argo templates do it: start with what is ready, and after each
// input is done, run what it released. A last sweep plays the reconcile.
func (p *Processor) RunOnce(ctx context.Context, parallel int) (Summary, error) {
	r := &runner{p: p, seen: map[string]bool{}, queue: make(chan string)}
	for range max(1, parallel) {
		go r.worker(ctx)
	}
	for {
		keys, err := p.Ready(ctx, "")
		if err != nil {
			return r.summary(), err
		}
		if r.submit(keys) == 0 {
			break
		}
		r.pending.Wait()
	}
	close(r.queue)
	return r.summary(), r.firstErr
}

type runner struct {
	p       *Processor
	queue   chan string
	pending sync.WaitGroup

	mu       sync.Mutex
	seen     map[string]bool // every input is tried once a run
	sum      Summary
	total    int
	firstErr error
}

// submit queues the keys not tried yet and returns how many it queued.
func (r *runner) submit(keys []string) int {
	r.mu.Lock()
	var fresh []string
	for _, k := range keys {
		if !r.seen[k] {
			r.seen[k] = true
			fresh = append(fresh, k)
		}
	}
	r.total += len(fresh)
	r.mu.Unlock()
	r.pending.Add(len(fresh))
	go func() {
		for _, k := range fresh {
			r.queue <- k
		}
	}()
	return len(fresh)
}

func (r *runner) worker(ctx context.Context) {
	for key := range r.queue {
		r.one(ctx, key)
		r.pending.Done()
	}
}

func (r *runner) one(ctx context.Context, key string) {
	var res Result
	var err error
	for try := 1; try <= attempts; try++ {
		res, err = r.p.Process(ctx, key)
		if err == nil || errors.Is(err, ErrPermanent) || ctx.Err() != nil {
			break
		}
		r.p.log.Warn("retrying", "key", key, "try", try, "err", err)
		time.Sleep(backoff << (try - 1))
	}
	r.mu.Lock()
	switch {
	case res.State == rules.Quarantined:
		r.sum.Quarantined++
	case err != nil:
		r.sum.Failed++
		if r.firstErr == nil && !errors.Is(err, ErrPermanent) {
			r.firstErr = err
		}
	default:
		r.sum.Processed++
	}
	done := r.sum.Processed + r.sum.Quarantined + r.sum.Failed
	total := r.total
	r.mu.Unlock()
	r.p.log.Info("progress", "done", done, "of", total, "key", key, "state", res.State, "records", res.Records)
	if err != nil {
		return
	}
	released, err := r.p.Ready(ctx, key)
	if err != nil {
		r.p.log.Warn("release", "after", key, "err", err)
		return
	}
	r.submit(released)
}

func (r *runner) summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sum
}
