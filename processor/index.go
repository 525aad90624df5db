package processor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/rules"
)

// scope is a part of one asset's keys: every key whose name relative to the
// asset's folders starts with prefix. Listing a scope in the input, output,
// quarantine and failure folders tells the rules all they need about it.
type scope struct {
	asset  *pipeline.Asset
	prefix string
}

// scopesFor returns what judging in needs: its own group (for a field, the
// box's fields, which holds the earlier dates) and the inputs its AssetDone
// checks name.
func (p *Processor) scopesFor(in pipeline.Input) []scope {
	out := []scope{p.groupScope(in)}
	for _, c := range in.Asset.Checks {
		if c.Kind != pipeline.AssetDone {
			continue
		}
		dep := p.pipe.Asset(c.Asset)
		if want, err := p.pipe.InputFor(dep, in.Values); err == nil {
			out = append(out, scope{asset: dep, prefix: want.Name})
		}
	}
	return out
}

// groupScope is the scope of the inputs that share in's groups but date
// and suffix.
func (p *Processor) groupScope(in pipeline.Input) scope {
	fixed := map[string]string{}
	for g, v := range in.Values {
		if g != "date" && g != "suffix" {
			fixed[g] = v
		}
	}
	return scope{asset: in.Asset, prefix: in.Asset.Pattern.Prefix(fixed)}
}

// releasedBy returns the scopes holding the inputs that may wait for in:
// inputs of assets that check in's asset is done, and later dates of in's
// own group.
func (p *Processor) releasedBy(in pipeline.Input) []scope {
	var out []scope
	for _, a := range p.pipe.Assets {
		for _, c := range a.Checks {
			switch {
			case c.Kind == pipeline.AssetDone && c.Asset == in.Asset.Name:
				out = append(out, scope{asset: a, prefix: a.Pattern.Prefix(in.Values)})
			case c.Kind == pipeline.EarlierDone && a == in.Asset:
				out = append(out, p.groupScope(in))
			}
		}
	}
	return out
}

// everything is one scope per asset covering all of its keys.
func (p *Processor) everything() []scope {
	var out []scope
	for _, a := range p.pipe.Assets {
		out = append(out, scope{asset: a})
	}
	return out
}

// index lists the scopes into an index, with the scopes the rules of the
// listed inputs need as well, so that every listed input can be judged.
func (p *Processor) index(ctx context.Context, scopes []scope) (*rules.Index, error) {
	idx := rules.NewIndex()
	done := map[scope]bool{}
	for len(scopes) > 0 {
		sc := scopes[0]
		scopes = scopes[1:]
		if done[sc] || covered(done, sc) {
			continue
		}
		done[sc] = true
		added, err := p.list(ctx, idx, sc)
		if err != nil {
			return nil, err
		}
		for _, in := range added {
			scopes = append(scopes, p.scopesFor(in)...)
		}
	}
	return idx, nil
}

// covered reports whether a scope already listed holds sc.
func covered(done map[scope]bool, sc scope) bool {
	for d := range done {
		if d.asset == sc.asset && strings.HasPrefix(sc.prefix, d.prefix) {
			return true
		}
	}
	return false
}

// list adds one scope to idx and returns the inputs it found.
func (p *Processor) list(ctx context.Context, idx *rules.Index, sc scope) ([]pipeline.Input, error) {
	a := sc.asset
	var found []pipeline.Input
	for info, err := range p.store.List(ctx, a.InputPrefix+"/"+sc.prefix) {
		if err != nil {
			return nil, err
		}
		in, err := p.pipe.Parse(info.Key)
		if err != nil {
			continue // not an input: ignored
		}
		idx.Inputs[info.Key] = rules.Entry{Input: in, Info: info}
		found = append(found, in)
	}
	for info, err := range p.store.List(ctx, a.OutputPrefix+"/"+sc.prefix) {
		if err != nil {
			return nil, err
		}
		idx.Outputs[info.Key] = true
	}
	for _, notes := range []struct {
		prefix string
		into   map[string]rules.Note
	}{
		{p.pipe.QuarantinePrefix, idx.Quarantined},
		{p.pipe.FailedPrefix, idx.Failed},
	} {
		if err := p.notes(ctx, notes.prefix, a.InputPrefix+"/"+sc.prefix, notes.into); err != nil {
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
