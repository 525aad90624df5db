package processor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/rules"
)

// index lists the scopes into an index, with the scopes the rules of the
// listed inputs need as well (pipeline.Upstream), so that every listed
// input can be judged.
func (p *Processor) index(ctx context.Context, scopes []pipeline.Scope) (*rules.Index, error) {
	idx := rules.NewIndex(time.Now())
	var done []pipeline.Scope
	for len(scopes) > 0 {
		sc := scopes[0]
		scopes = scopes[1:]
		if covered(done, sc) {
			continue
		}
		done = append(done, sc)
		added, err := p.list(ctx, idx, sc)
		if err != nil {
			return nil, err
		}
		for _, in := range added {
			for _, up := range p.pipe.Upstream(in) {
				if !covered(done, up) {
					scopes = append(scopes, up)
				}
			}
		}
	}
	return idx, nil
}

// covered reports whether a scope already listed holds sc.
func covered(done []pipeline.Scope, sc pipeline.Scope) bool {
	for _, d := range done {
		if d.Covers(sc) {
			return true
		}
	}
	return false
}

// list adds one scope to idx and returns the inputs it found: the inputs,
// their outputs, provenance markers, quarantine reports and failure notes.
func (p *Processor) list(ctx context.Context, idx *rules.Index, sc pipeline.Scope) ([]pipeline.Input, error) {
	a := sc.Asset
	inputs := a.InputPrefix + "/" + sc.Prefix
	var found []pipeline.Input
	for info, err := range p.store.List(ctx, inputs) {
		if err != nil {
			return nil, err
		}
		in, err := p.pipe.Parse(info.Key)
		switch {
		case errors.Is(err, pipeline.ErrNotInput):
			continue // a readme beside the data: ignored
		case err != nil:
			idx.Rejected[info.Key] = rules.Rejection{Asset: a.Name, Reason: err.Error()}
			continue
		}
		idx.Inputs[info.Key] = rules.Entry{Input: in, Info: info}
		found = append(found, in)
	}
	for info, err := range p.store.List(ctx, a.OutputPrefix+"/"+sc.Prefix) {
		if err != nil {
			return nil, err
		}
		idx.Outputs[info.Key] = info
	}
	for info, err := range p.store.List(ctx, p.pipe.ProvenancePrefix+"/"+inputs) {
		if err != nil {
			return nil, err
		}
		if key, token, ok := p.pipe.ParseProvenanceKey(info.Key); ok {
			idx.Made[key] = append(idx.Made[key], token)
		}
	}
	for _, notes := range []struct {
		prefix string
		into   map[string]rules.Note
	}{
		{p.pipe.QuarantinePrefix, idx.Quarantined},
		{p.pipe.FailedPrefix, idx.Failed},
	} {
		if err := p.notes(ctx, notes.prefix, inputs, notes.into); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// notes reads the notes under folder for the inputs starting with prefix.
func (p *Processor) notes(ctx context.Context, folder, prefix string, into map[string]rules.Note) error {
	for info, err := range p.store.List(ctx, folder+"/"+prefix) {
		if err != nil {
			return err
		}
		inputKey, ok := strings.CutSuffix(strings.TrimPrefix(info.Key, folder+"/"), pipeline.ReportSuffix)
		if !ok {
			continue // the quarantined copy itself
		}
		n, err := readNote(ctx, p.store, info.Key)
		if errors.Is(err, errNoNote) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", info.Key, err)
		}
		into[inputKey] = n
	}
	return nil
}
