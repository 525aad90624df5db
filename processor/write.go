package processor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/record"
	"github.com/fieldflow/fieldflow/processor/rules"
	"github.com/fieldflow/fieldflow/processor/store"
)

// run streams the input through the record processor into the output, then
// records what the output was made from. The input's old provenance
// markers go first: from then until the new marker is written the output
// counts as stale, so a crash anywhere in between makes the input run again
// instead of passing an output for a version it was not made from.
func (p *Processor) run(ctx context.Context, in pipeline.Input, res *Result) error {
	if err := p.forget(ctx, in.Key); err != nil {
		return fmt.Errorf("process %s: %w", in.Key, err)
	}
	rc, info, err := p.store.Open(ctx, in.Key)
	if err != nil {
		return fmt.Errorf("process %s: %w", in.Key, err)
	}
	defer rc.Close()
	digest := sha256.New()
	res.Version = info.Version
	stats, err := p.stream(ctx, io.TeeReader(rc, digest), in, info)
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
	res.SHA256 = hex.EncodeToString(digest.Sum(nil))
	if err := p.recordProvenance(ctx, in, info, res); err != nil {
		return fmt.Errorf("process %s: the output is written but its provenance is not (it will run again): %w", in.Key, err)
	}
	p.log.Debug("processed", "key", in.Key, "output", in.OutputKey(), "records", stats.Records, "bytes", stats.BytesIn)
	return nil
}

// stream writes the processed input to its output key. The upload reads
// from a pipe: when processing fails, or the input ends before its size,
// the pipe fails the upload, so no output appears.
func (p *Processor) stream(ctx context.Context, r io.Reader, in pipeline.Input, info store.Info) (record.Stats, error) {
	pr, pw := io.Pipe()
	uploaded := make(chan error, 1)
	go func() {
		err := p.store.Put(ctx, in.OutputKey(), pr, p.outputMetadata(info))
		pr.CloseWithError(err) // unblocks the writer if the upload gave up
		uploaded <- err
	}()
	stats, err := record.Process(r, pw, record.Options{
		Rules: record.Rules{BoxID: in.Box, Binary: in.Asset.BinaryValues},
	})
	var bad *record.InvalidError
	if (err == nil || errors.As(err, &bad)) && stats.BytesIn != info.Size {
		// Whatever the store promises, bytes short of the object's size
		// are never taken for the whole file, valid or not.
		err = fmt.Errorf("%w: read %d of the %d bytes of %s", store.ErrIncomplete, stats.BytesIn, info.Size, in.Key)
	}
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

// Provenance is what an output was made from. The output carries it as
// metadata (what is known before the upload starts); the marker, written
// after, holds all of it with the digest of the content read.
type Provenance struct {
	Input       string    `json:"input"`
	Version     string    `json:"version"`
	VersionID   string    `json:"version_id,omitempty"`
	Size        int64     `json:"size"`
	Checksum    string    `json:"checksum,omitempty"`
	SHA256      string    `json:"sha256"`
	Output      string    `json:"output"`
	Records     int64     `json:"records"`
	Fieldflow   string    `json:"fieldflow"`
	Workflow    string    `json:"workflow,omitempty"`
	ProcessedAt time.Time `json:"processed_at"`
}

// Metadata keys on every output.
const (
	MetaInputVersion   = "fieldflow-input-version"
	MetaInputVersionID = "fieldflow-input-version-id"
	MetaInputSize      = "fieldflow-input-size"
	MetaInputChecksum  = "fieldflow-input-checksum"
	MetaFieldflow      = "fieldflow-version"
	MetaWorkflow       = "fieldflow-workflow"
)

func (p *Processor) outputMetadata(info store.Info) store.Metadata {
	m := store.Metadata{
		MetaInputVersion: info.Version,
		MetaInputSize:    strconv.FormatInt(info.Size, 10),
		MetaFieldflow:    Version(),
	}
	for k, v := range map[string]string{MetaInputVersionID: info.VersionID, MetaInputChecksum: info.Checksum, MetaWorkflow: p.Workflow} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func (p *Processor) recordProvenance(ctx context.Context, in pipeline.Input, info store.Info, res *Result) error {
	b, err := json.MarshalIndent(Provenance{
		Input: in.Key, Version: info.Version, VersionID: info.VersionID, Size: info.Size,
		Checksum: info.Checksum, SHA256: res.SHA256, Output: in.OutputKey(), Records: res.Records,
		Fieldflow: Version(), Workflow: p.Workflow, ProcessedAt: time.Now().UTC(),
	}, "", "  ")
	if err != nil {
		return err
	}
	return p.store.Put(ctx, p.pipe.ProvenanceKey(in.Key, info.Version), bytes.NewReader(append(b, '\n')), nil)
}

// forget removes the provenance markers of an input.
func (p *Processor) forget(ctx context.Context, key string) error {
	for info, err := range p.store.List(ctx, p.pipe.MarkerPrefix(key)) {
		if err != nil {
			return err
		}
		if err := p.store.Delete(ctx, info.Key); err != nil {
			return err
		}
	}
	return nil
}

// ReadProvenance reads the provenance an input's marker holds, for people
// and tests: the input's current marker, or ErrNotFound.
func (p *Processor) ReadProvenance(ctx context.Context, key string) (Provenance, error) {
	var pv Provenance
	for info, err := range p.store.List(ctx, p.pipe.MarkerPrefix(key)) {
		if err != nil {
			return pv, err
		}
		rc, _, err := p.store.Open(ctx, info.Key)
		if err != nil {
			return pv, err
		}
		defer rc.Close()
		return pv, json.NewDecoder(rc).Decode(&pv)
	}
	return pv, fmt.Errorf("provenance of %s: %w", key, store.ErrNotFound)
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
