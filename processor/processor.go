// Package processor runs the pipeline on one store: it judges inputs with
// the dependency rules, processes the ready ones into outputs, and puts
// invalid ones in quarantine with a report. Every way fieldflow runs, by
// hand, in an Argo pod or in the local engine, goes through it.
package processor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/record"
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
func OpenStore(ctx context.Context, url string) (store.Store, error) {
	if bucket, ok := strings.CutPrefix(url, "s3://"); ok {
		if bucket == "" || strings.Contains(bucket, "/") {
			return nil, fmt.Errorf("store %q: want s3://BUCKET (prefixes are set with the *_FOLDER_* settings)", url)
		}
		return s3store.New(ctx, bucket)
	}
	if strings.Contains(url, "://") && !strings.HasPrefix(url, "file://") {
		return nil, fmt.Errorf("store %q: want s3://BUCKET or a folder", url)
	}
	if url == "" {
		return nil, errors.New("no store: pass --store s3://BUCKET or --store FOLDER")
	}
	return local.New(strings.TrimPrefix(url, "file://"))
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
	// AlreadyDone is true when the output existed and nothing was done.
	AlreadyDone bool   `json:"already_done"`
	Reason      string `json:"reason,omitempty"`
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
	idx, err := p.index(ctx, p.scopesFor(in))
	if err != nil {
		return in, nil, fmt.Errorf("check %s: %w", key, err)
	}
	if _, ok := idx.Inputs[key]; !ok {
		return in, nil, permanent(fmt.Errorf("%s: %w", key, ErrNoInput))
	}
	return in, idx, nil
}

// Ready returns the inputs that can run now, sorted. With after set to an
// input that just finished, it returns only the inputs that waited for it:
// what finishing it released.
func (p *Processor) Ready(ctx context.Context, after string) ([]string, error) {
	scopes := p.everything()
	var released func(pipeline.Input) bool
	if after != "" {
		k, err := p.pipe.Parse(after)
		if err != nil {
			return nil, permanent(err)
		}
		scopes = p.releasedBy(k)
		released = func(in pipeline.Input) bool { return rules.DependsOn(p.pipe, in, k) }
	}
	idx, err := p.index(ctx, scopes)
	if err != nil {
		return nil, fmt.Errorf("ready: %w", err)
	}
	keys := []string{}
	for key, e := range idx.Inputs {
		if released != nil && !released(e.Input) {
			continue
		}
		if rules.Judge(p.pipe, idx, e.Input).State == rules.Ready {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Status judges every input in the store, in the pipeline's asset order,
// then by key.
func (p *Processor) Status(ctx context.Context) ([]rules.Verdict, error) {
	idx, err := p.index(ctx, p.everything())
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	order := map[string]int{}
	for i, a := range p.pipe.Assets {
		order[a.Name] = i
	}
	out := make([]rules.Verdict, 0, len(idx.Inputs))
	for _, e := range idx.Inputs {
		out = append(out, rules.Judge(p.pipe, idx, e.Input))
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
// an invalid file the quarantine copy and report. An output that exists
// already is left alone. Errors wrapping ErrPermanent will fail again.
func (p *Processor) Process(ctx context.Context, key string) (Result, error) {
	start := time.Now()
	in, idx, err := p.judgeable(ctx, key)
	if err != nil {
		return Result{Key: key}, err
	}
	res := Result{Key: key, Asset: in.Asset.Name, OutputKey: in.OutputKey()}
	v := rules.Judge(p.pipe, idx, in)
	res.State, res.Reason = v.State, v.Reason
	switch v.State {
	case rules.Done:
		res.AlreadyDone = true
		return res, nil
	case rules.OutOfRange, rules.Quarantined:
		return res, permanent(fmt.Errorf("%s is %s: %s", key, v.State, v.Reason))
	case rules.Waiting:
		return res, fmt.Errorf("%s is not ready: %s", key, v.Reason)
	}
	err = p.run(ctx, in, &res)
	res.Seconds = time.Since(start).Seconds()
	switch {
	case errors.Is(err, ErrPermanent):
		return res, err
	case err != nil:
		p.noteFailure(ctx, in, idx, err)
		return res, err
	}
	if _, ok := idx.Failed[key]; ok {
		if err := p.store.Delete(ctx, p.pipe.FailedKey(key)); err != nil {
			p.log.Warn("remove failure note", "key", key, "err", err)
		}
	}
	res.State, res.Reason = rules.Done, "output "+res.OutputKey
	return res, nil
}

// run streams the input through the record processor into the output.
func (p *Processor) run(ctx context.Context, in pipeline.Input, res *Result) error {
	rc, info, err := p.store.Open(ctx, in.Key)
	if err != nil {
		return fmt.Errorf("process %s: %w", in.Key, err)
	}
	defer rc.Close()
	stats, err := p.stream(ctx, rc, in)
	res.Records, res.Bytes, res.BytesOut = stats.Records, stats.BytesIn, stats.BytesOut
	var bad *record.InvalidError
	if errors.As(err, &bad) {
		res.Records, res.BytesOut = 0, 0
		if err := p.quarantine(ctx, in, info, bad); err != nil {
			return err
		}
		res.State, res.Reason = rules.Quarantined, bad.Error()
		return permanent(fmt.Errorf("%s is invalid: %w", in.Key, bad))
	}
	if err != nil {
		return fmt.Errorf("process %s: %w", in.Key, err)
	}
	p.log.Debug("processed", "key", in.Key, "output", in.OutputKey(), "records", stats.Records, "bytes", stats.BytesIn)
	return nil
}

// stream writes the processed input to its output key. The upload reads
// from a pipe: when processing fails the pipe fails the upload, so no
// output appears.
func (p *Processor) stream(ctx context.Context, r io.Reader, in pipeline.Input) (record.Stats, error) {
	pr, pw := io.Pipe()
	uploaded := make(chan error, 1)
	go func() {
		err := p.store.Put(ctx, in.OutputKey(), pr, nil)
		pr.CloseWithError(err) // unblocks the writer if the upload gave up
		uploaded <- err
	}()
	stats, err := record.Process(r, pw, record.Options{
		Rules:      record.Rules{BoxID: in.Box, Binary: in.Asset.BinaryValues},
		BatchBytes: in.Asset.Profile.BatchBytes,
	})
	pw.CloseWithError(err) // nil: EOF, the upload completes
	upErr := <-uploaded
	if err != nil {
		return stats, err
	}
	if upErr != nil {
		return stats, fmt.Errorf("upload %s: %w", in.OutputKey(), upErr)
	}
	return stats, nil
}

// quarantine copies an invalid input beside its report. The report is
// written last: it is what marks the input quarantined.
func (p *Processor) quarantine(ctx context.Context, in pipeline.Input, validated store.Info, bad *record.InvalidError) error {
	rc, info, err := p.store.Open(ctx, in.Key)
	if err != nil {
		return fmt.Errorf("quarantine %s: %w", in.Key, err)
	}
	defer rc.Close()
	if info.Version != validated.Version {
		return fmt.Errorf("quarantine %s: the file changed while it was validated; run it again", in.Key)
	}
	if err := p.store.Put(ctx, p.pipe.QuarantineKey(in.Key), rc, nil); err != nil {
		return fmt.Errorf("quarantine %s: %w", in.Key, err)
	}
	report := note{
		title:   "quarantine report",
		input:   in.Key,
		version: validated.Version,
		summary: bad.Error(),
		body:    bad.Report(),
	}
	if err := writeNote(ctx, p.store, p.pipe.ReportKey(in.Key), report); err != nil {
		return fmt.Errorf("quarantine %s: write report: %w", in.Key, err)
	}
	p.log.Warn("quarantined", "key", in.Key, "report", p.pipe.ReportKey(in.Key), "invalid_lines", bad.Invalid, "first", bad.Problems[0].String())
	return nil
}

// noteFailure leaves a note for status; it is best effort, as the store
// may be what failed.
func (p *Processor) noteFailure(ctx context.Context, in pipeline.Input, idx *rules.Index, cause error) {
	n := note{title: "failure note", input: in.Key, version: idx.Inputs[in.Key].Info.Version, summary: cause.Error()}
	if err := writeNote(ctx, p.store, p.pipe.FailedKey(in.Key), n); err != nil {
		p.log.Warn("write failure note", "key", in.Key, "err", err)
	}
}
