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
	Failed      int `json:"failed"` // attempts that failed (retried while attempts remain)
}

// RunOnce processes everything that can run until nothing more can, the
// way the Argo templates do it: start with what is ready, and after each
// input is done, run what it released. When nothing is ready but an input
// runs again after a failed attempt's backoff, it waits for that, so every
// input ends done, quarantined, waiting or failed for good. The attempts and
// their backoff are the store's, as on Argo.
func (p *Processor) RunOnce(ctx context.Context, parallel int) (Summary, error) {
	r := &runner{p: p, tries: map[string]int{}, inflight: map[string]bool{}, queue: make(chan string)}
	for range max(1, parallel) {
		go r.worker(ctx)
	}
	defer close(r.queue)
	for {
		keys, next, err := r.list(ctx)
		if err != nil {
			return r.summary(), err
		}
		if r.submit(keys) > 0 {
			r.pending.Wait()
			continue
		}
		if next.IsZero() {
			return r.summary(), nil
		}
		p.log.Info("waiting for a retry's backoff", "until", next.Format(time.RFC3339))
		select {
		case <-ctx.Done():
			return r.summary(), ctx.Err()
		case <-time.After(time.Until(next)):
		}
	}
}

// list is Ready for the whole store. A listing that fails for a reason
// worth retrying (the store restarting) is tried again with the pipeline's
// backoff, as many times as an input would be.
func (r *runner) list(ctx context.Context) ([]string, time.Time, error) {
	retry := r.p.pipe.Assets[0].Retry
	for attempt := 1; ; attempt++ {
		keys, next, err := r.p.ready(ctx, "")
		if err == nil || errors.Is(err, ErrPermanent) || attempt >= retry.Attempts {
			return keys, next, err
		}
		r.p.log.Warn("listing failed; trying again", "attempt", attempt, "in", retry.Wait(attempt), "err", err)
		select {
		case <-ctx.Done():
			return nil, time.Time{}, ctx.Err()
		case <-time.After(retry.Wait(attempt)):
		}
	}
}

type runner struct {
	p       *Processor
	queue   chan string
	pending sync.WaitGroup

	mu       sync.Mutex
	tries    map[string]int  // runs of each input in this call: bounded
	inflight map[string]bool // queued or running now
	sum      Summary
	total    int
}

// maxTries bounds the runs of one input in one RunOnce, whatever the
// listings say: more than any asset's attempts.
func (r *runner) maxTries() int {
	n := 1
	for _, a := range r.p.pipe.Assets {
		n = max(n, a.Retry.Attempts)
	}
	return n + 1
}

// submit queues the keys not running and not tried too often, and returns
// how many it queued.
func (r *runner) submit(keys []string) int {
	r.mu.Lock()
	var fresh []string
	for _, k := range keys {
		if r.tries[k] < r.maxTries() && !r.inflight[k] {
			r.tries[k]++
			r.inflight[k] = true
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
	res, err := r.p.Process(ctx, key)
	r.mu.Lock()
	delete(r.inflight, key)
	switch {
	case res.State == rules.Quarantined:
		r.sum.Quarantined++
	case err != nil:
		r.sum.Failed++
	default:
		r.sum.Processed++
	}
	done := r.sum.Processed + r.sum.Quarantined + r.sum.Failed
	total := r.total
	r.mu.Unlock()
	if err != nil && !errors.Is(err, ErrPermanent) {
		r.p.log.Warn("attempt failed", "key", key, "attempt", res.Attempt, "err", err)
	}
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
