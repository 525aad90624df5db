package processor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/rules"
	"github.com/fieldflow/fieldflow/processor/store"
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
// The five listings run at once: a check's cost is one round trip's
// latency, not five.
func (p *Processor) list(ctx context.Context, idx *rules.Index, sc pipeline.Scope) ([]pipeline.Input, error) {
	a := sc.Asset
	inputs := a.InputPrefix + "/" + sc.Prefix
	var (
		found      []pipeline.Input
		infos      []store.Info
		rejected   = map[string]rules.Rejection{}
		outputs    []store.Info
		markers    []store.Info
		quarantine = map[string]rules.Note{}
		failed     = map[string]rules.Note{}
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return p.each(gctx, inputs, func(info store.Info) {
			in, err := p.pipe.Parse(info.Key)
			switch {
			case errors.Is(err, pipeline.ErrNotInput): // a readme beside the data: ignored
			case err != nil:
				rejected[info.Key] = rules.Rejection{Asset: a.Name, Reason: err.Error()}
			default:
				found, infos = append(found, in), append(infos, info)
			}
		})
	})
	g.Go(func() error {
		return p.each(gctx, a.OutputPrefix+"/"+sc.Prefix, func(info store.Info) { outputs = append(outputs, info) })
	})
	g.Go(func() error {
		return p.each(gctx, p.pipe.ProvenancePrefix+"/"+inputs, func(info store.Info) { markers = append(markers, info) })
	})
	g.Go(func() error { return p.notes(gctx, p.pipe.QuarantinePrefix, inputs, quarantine) })
	g.Go(func() error { return p.notes(gctx, p.pipe.FailedPrefix, inputs, failed) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, in := range found {
		idx.Inputs[in.Key] = rules.Entry{Input: in, Info: infos[i]}
	}
	maps.Copy(idx.Rejected, rejected)
	for _, info := range outputs {
		idx.Outputs[info.Key] = info
	}
	for _, info := range markers {
		if key, token, ok := p.pipe.ParseProvenanceKey(info.Key); ok {
			idx.Made[key] = append(idx.Made[key], token)
		}
	}
	maps.Copy(idx.Quarantined, quarantine)
	maps.Copy(idx.Failed, failed)
	return found, nil
}

// each calls f for every object under prefix.
func (p *Processor) each(ctx context.Context, prefix string, f func(store.Info)) error {
	for info, err := range p.store.List(ctx, prefix) {
		if err != nil {
			return err
		}
		f(info)
	}
	return nil
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
