// Package processor runs the pipeline on one store: it judges inputs with
// the dependency rules, processes the ready ones into outputs, and puts
// invalid ones in quarantine with a report. Every way fieldflow runs, by
// hand, in an Argo pod or in the local engine, goes through it.
package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/rules"
	"github.com/fieldflow/fieldflow/processor/store"
	"github.com/fieldflow/fieldflow/processor/store/local"
	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
)

// ErrPermanent matches errors that retrying cannot fix: invalid input, a key
// that is no input, a file out of range. `fieldflow process` exits 2 on
// them so that Argo does not retry.
var ErrPermanent = errors.New("permanent")

// permanent marks err as permanent without changing its message.
func permanent(err error) error { return permanentError{err} }

type permanentError struct{ err error }

func (e permanentError) Error() string        { return e.err.Error() }
func (e permanentError) Unwrap() error        { return e.err }
func (e permanentError) Is(target error) bool { return target == ErrPermanent }

// ErrNoInput is returned for an input key that holds no object.
var ErrNoInput = errors.New("no such input")

// Processor works on one store with one pipeline.
type Processor struct {
	store store.Store
	pipe  *pipeline.Pipeline
	log   *slog.Logger
	// Workflow names the Argo workflow this process runs in, recorded in
	// the provenance of every output it writes; empty outside Argo.
	Workflow string
}

// New returns a processor.
func New(st store.Store, pipe *pipeline.Pipeline, log *slog.Logger) *Processor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Processor{store: st, pipe: pipe, log: log}
}

// Store is the store the processor works on.
func (p *Processor) Store() store.Store { return p.store }

// Pipeline is the definition the processor enforces.
func (p *Processor) Pipeline() *pipeline.Pipeline { return p.pipe }

// OpenStore opens the store a --store flag names: s3://BUCKET, or a folder.
// A bucket is checked once here, so that every command and the local engine
// say that a bucket does not exist (s3store.ErrNoBucket, with how to create
// it) before they do anything else.
//
// Its errors are ErrPermanent (a bad --store, a missing bucket, a broken
// configuration) except a failed check of the bucket, which an outage or
// credentials being rotated may cause and a retry may fix.
func OpenStore(ctx context.Context, url string) (store.Store, error) {
	if bucket, ok := strings.CutPrefix(url, "s3://"); ok {
		if bucket == "" || strings.Contains(bucket, "/") {
			return nil, permanent(fmt.Errorf("store %q: want s3://BUCKET (prefixes are set with the *_FOLDER_* settings)", url))
		}
		return openBucket(ctx, bucket)
	}
	if strings.Contains(url, "://") && !strings.HasPrefix(url, "file://") {
		return nil, permanent(fmt.Errorf("store %q: want s3://BUCKET or a folder", url))
	}
	if url == "" {
		return nil, permanent(errors.New("no store: pass --store s3://BUCKET or --store FOLDER"))
	}
	st, err := local.New(strings.TrimPrefix(url, "file://"))
	if err != nil {
		return nil, permanent(err)
	}
	return st, nil
}

// openBucket is the s3 store on bucket, once the bucket answered.
func openBucket(ctx context.Context, bucket string) (store.Store, error) {
	st, err := s3store.New(ctx, bucket)
	if err != nil {
		return nil, permanent(err)
	}
	if err := st.CheckBucket(ctx); err != nil {
		if errors.Is(err, s3store.ErrNoBucket) {
			return nil, permanent(err)
		}
		return nil, err
	}
	return st, nil
}

// Result describes one call of Process.
type Result struct {
	Key       string      `json:"key"`
	Asset     string      `json:"asset"`
	State     rules.State `json:"state"`
	OutputKey string      `json:"output_key,omitempty"`
	Records   int64       `json:"records"`
	Bytes     int64       `json:"bytes"`
	BytesOut  int64       `json:"bytes_out"`
	Seconds   float64     `json:"seconds"`
	// AlreadyDone is true when the output was made from the input's
	// current version and nothing was done.
	AlreadyDone bool `json:"already_done"`
	// Attempt is the number of this run of the input's current version.
	Attempt int `json:"attempt,omitempty"`
	// Version is the input version processed, SHA256 its content's digest.
	Version string `json:"version,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Check judges one input.
func (p *Processor) Check(ctx context.Context, key string) (rules.Verdict, error) {
	in, idx, err := p.judgeable(ctx, key)
	if err != nil {
		return rules.Verdict{}, err
	}
	return rules.Judge(p.pipe, idx, in), nil
}

// judgeable parses key and lists what judging it needs.
func (p *Processor) judgeable(ctx context.Context, key string) (pipeline.Input, *rules.Index, error) {
	in, err := p.pipe.Parse(key)
	if err != nil {
		return in, nil, permanent(err)
	}
	idx, err := p.index(ctx, p.pipe.Upstream(in))
	if err != nil {
		return in, nil, fmt.Errorf("check %s: %w", key, err)
	}
	if _, ok := idx.Inputs[key]; !ok {
		return in, nil, permanent(fmt.Errorf("%s: %w", key, ErrNoInput))
	}
	return in, idx, nil
}

// Ready returns the inputs the reconcile would run now, sorted. With after
// set to an input that just finished, it returns only the inputs that
// waited for it: what finishing it released.
func (p *Processor) Ready(ctx context.Context, after string) ([]string, error) {
	keys, _, err := p.ready(ctx, after)
	return keys, err
}

// ready is Ready, with the earliest time an input that is not ready yet
// runs again after a failed or unfinished attempt (zero if none does).
func (p *Processor) ready(ctx context.Context, after string) ([]string, time.Time, error) {
	scopes := p.pipe.Everything()
	released := func(pipeline.Input) bool { return true }
	if after != "" {
		k, err := p.pipe.Parse(after)
		if err != nil {
			return nil, time.Time{}, permanent(err)
		}
		scopes = p.pipe.Downstream(k)
		released = func(in pipeline.Input) bool { return p.pipe.DependsOn(in, k) }
	}
	idx, err := p.index(ctx, scopes)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ready: %w", err)
	}
	keys := []string{}
	var next time.Time
	for key, e := range idx.Inputs {
		if !released(e.Input) {
			continue
		}
		v := rules.Judge(p.pipe, idx, e.Input)
		switch {
		case v.Ready:
			keys = append(keys, key)
		case !v.RetryAt.IsZero() && (next.IsZero() || v.RetryAt.Before(next)):
			next = v.RetryAt
		}
	}
	sort.Strings(keys)
	return keys, next, nil
}

// Status judges every input in the store, and names every key in an input
// folder that is no valid input, in the pipeline's asset order, then by key.
func (p *Processor) Status(ctx context.Context) ([]rules.Verdict, error) {
	idx, err := p.index(ctx, p.pipe.Everything())
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	order := map[string]int{}
	for i, a := range p.pipe.Assets {
		order[a.Name] = i
	}
	out := make([]rules.Verdict, 0, len(idx.Inputs)+len(idx.Rejected))
	for _, e := range idx.Inputs {
		out = append(out, rules.Judge(p.pipe, idx, e.Input))
	}
	for key, r := range idx.Rejected {
		out = append(out, rules.Verdict{Key: key, Asset: r.Asset, State: rules.Rejected, Reason: r.Reason})
	}
	sort.Slice(out, func(i, j int) bool {
		if oi, oj := order[out[i].Asset], order[out[j].Asset]; oi != oj {
			return oi < oj
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// Process runs one input if its rules allow: it writes the output, or for
// an invalid file the quarantine copy and report. An output made from the
// input's current version is left alone; a stale one is made again. Every
// run is an attempt counted in the store before it starts, so a crash
// counts too; past the asset's attempts the input has failed for good.
// Errors wrapping ErrPermanent will fail again.
func (p *Processor) Process(ctx context.Context, key string) (Result, error) {
	start := time.Now()
	in, idx, err := p.judgeable(ctx, key)
	if err != nil {
		return Result{Key: key}, err
	}
	res := Result{Key: key, Asset: in.Asset.Name, OutputKey: in.OutputKey()}
	v := rules.Judge(p.pipe, idx, in)
	res.State, res.Reason, res.Attempt = v.State, v.Reason, v.Attempts
	switch v.State {
	case rules.Done:
		res.AlreadyDone = true
		return res, nil
	case rules.OutOfRange, rules.Quarantined, rules.Failed:
		return res, permanent(fmt.Errorf("%s is %s: %s", key, v.State, v.Reason))
	case rules.Waiting:
		return res, fmt.Errorf("%s is not ready: %s", key, v.Reason)
	}
	listed := idx.Inputs[key].Info
	res.Attempt = v.Attempts + 1 // the rules counted the current version's attempts
	if limit := in.Asset.Retry.Attempts; res.Attempt > limit {
		// The last attempt is still running, or was killed before its
		// backoff ran out: either way none is left.
		return res, permanent(fmt.Errorf("%s: gave up after %d attempts: %s", key, limit, idx.Failed[key].Summary))
	}
	attempt := note{title: failureTitle, input: key, version: listed.Version, attempt: res.Attempt, at: start, running: true, summary: rules.Unfinished}
	if err := writeNote(ctx, p.store, p.pipe.FailedKey(key), attempt); err != nil {
		return res, fmt.Errorf("%s: record attempt %d: %w", key, res.Attempt, err)
	}
	err = p.run(ctx, in, &res)
	res.Seconds = time.Since(start).Seconds()
	if err != nil && !errors.Is(err, ErrPermanent) {
		return res, p.failed(ctx, in, attempt, err)
	}
	if derr := p.store.Delete(ctx, p.pipe.FailedKey(key)); derr != nil {
		p.log.Warn("remove attempt note", "key", key, "err", derr)
	}
	if err != nil {
		return res, err // invalid: the quarantine report is the record
	}
	res.State, res.Reason = rules.Done, "output "+res.OutputKey
	return res, nil
}

const failureTitle = "failure note"

// failed records a failed attempt. The note is written even when ctx has
// ended (a SIGTERM), with a deadline of its own. The last attempt's error
// is permanent: the input has failed until it is uploaded again or retried
// by hand.
func (p *Processor) failed(ctx context.Context, in pipeline.Input, attempt note, cause error) error {
	attempt.running, attempt.at, attempt.summary = false, time.Now(), cause.Error()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noteTimeout)
	defer cancel()
	if err := writeNote(wctx, p.store, p.pipe.FailedKey(in.Key), attempt); err != nil {
		p.log.Warn("write failure note", "key", in.Key, "err", err)
	}
	if limit := in.Asset.Retry.Attempts; attempt.attempt >= limit {
		return permanent(fmt.Errorf("%s: gave up after %d attempts: %w", in.Key, attempt.attempt, cause))
	}
	return cause
}

// noteTimeout bounds writing a failure note after the run's context ended.
const noteTimeout = 10 * time.Second

// Retry forgets the failed attempts of an input, so that it runs again
// from its first attempt: for a file that gave up once its cause is fixed.
func (p *Processor) Retry(ctx context.Context, key string) (rules.Verdict, error) {
	in, idx, err := p.judgeable(ctx, key)
	if err != nil {
		return rules.Verdict{}, err
	}
	v := rules.Judge(p.pipe, idx, in)
	if _, ok := idx.Failed[key]; !ok {
		return v, permanent(fmt.Errorf("%s has no failed attempts to forget: it is %s (%s)", key, v.State, v.Reason))
	}
	if err := p.store.Delete(ctx, p.pipe.FailedKey(key)); err != nil {
		return v, fmt.Errorf("retry %s: %w", key, err)
	}
	return p.Check(ctx, key)
}
