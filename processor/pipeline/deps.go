package pipeline

import (
	"slices"
	"time"
)

// The pattern groups the rules know by name. Every other group of a
// pattern is part of an input's group, as the box is.
const (
	GroupBox    = "box"
	GroupDate   = "date"
	GroupSuffix = "suffix"
)

// This file is the one definition of the dependency relation: which inputs
// an input waits for (Upstream, Needs, DependsOn), which inputs may wait for
// it (Downstream), and which asset kinds a finished one releases (Releases).
// The rules judge with it, the processor lists what it names, and the
// generator renders the release steps from it.

// Scope is a part of one asset's keys: every key whose name relative to the
// asset's folders starts with Prefix. Listing a scope in the input, output
// and note folders tells the rules all they need about it.
type Scope struct {
	Asset  *Asset
	Prefix string
}

// Covers reports whether s holds every key of o.
func (s Scope) Covers(o Scope) bool {
	return s.Asset == o.Asset && len(o.Prefix) >= len(s.Prefix) && o.Prefix[:len(s.Prefix)] == s.Prefix
}

// groupValues are the values in shares with the inputs it is ordered
// among: every group but the date and the suffix (for a field, its box).
func (in Input) groupValues() map[string]string {
	fixed := map[string]string{}
	for g, v := range in.Values {
		if g != GroupDate && g != GroupSuffix {
			fixed[g] = v
		}
	}
	return fixed
}

// GroupScope is the scope of the inputs of in's asset that share its group.
func (in Input) GroupScope() Scope {
	return Scope{Asset: in.Asset, Prefix: in.Asset.Pattern.Prefix(in.groupValues())}
}

// SameGroup reports whether a and b are of one asset and share every group
// value but the date and the suffix: for fields, the same box.
func SameGroup(a, b Input) bool {
	if a.Asset != b.Asset {
		return false
	}
	for g, v := range a.Values {
		if g != GroupDate && g != GroupSuffix && b.Values[g] != v {
			return false
		}
	}
	return true
}

// Needs returns the input that check c (of kind AssetDone) of in waits for.
func (p *Pipeline) Needs(in Input, c Check) (Input, error) {
	return p.InputFor(p.Asset(c.Asset), in.Values)
}

// Earlier reports whether in's EarlierDone check waits for o: o is of the
// same asset and group, dated from the start date up to the day before in.
func (p *Pipeline) Earlier(in, o Input) bool {
	return SameGroup(in, o) && !o.Date.Before(p.StartDate) && o.Date.Before(in.Date)
}

// DependsOn reports whether a check of in waits for dep.
func (p *Pipeline) DependsOn(in, dep Input) bool {
	for _, c := range in.Asset.Checks {
		switch c.Kind {
		case AssetDone:
			if c.Asset != dep.Asset.Name {
				continue
			}
			if want, err := p.Needs(in, c); err == nil && want.Key == dep.Key {
				return true
			}
		case EarlierDone:
			if p.Earlier(in, dep) {
				return true
			}
		}
	}
	return false
}

// Upstream returns the scopes judging in needs: its own group (which holds
// its earlier dates) and the inputs its AssetDone checks name.
func (p *Pipeline) Upstream(in Input) []Scope {
	out := []Scope{in.GroupScope()}
	for _, c := range in.Asset.Checks {
		if c.Kind != AssetDone {
			continue
		}
		if want, err := p.Needs(in, c); err == nil {
			out = append(out, Scope{Asset: want.Asset, Prefix: want.Name})
		}
	}
	return out
}

// Downstream returns the scopes holding the inputs that may wait for in.
func (p *Pipeline) Downstream(in Input) []Scope {
	var out []Scope
	for _, a := range p.Releases(in.Asset) {
		if a == in.Asset {
			out = append(out, in.GroupScope())
		} else {
			out = append(out, Scope{Asset: a, Prefix: a.Pattern.Prefix(in.Values)})
		}
	}
	return out
}

// Releases returns the asset kinds with a check that waits for an input of
// a: finishing one of a's inputs may make theirs ready.
func (p *Pipeline) Releases(a *Asset) []*Asset {
	var out []*Asset
	for _, other := range p.Assets {
		if slices.ContainsFunc(other.Checks, func(c Check) bool {
			return (c.Kind == AssetDone && c.Asset == a.Name) || (c.Kind == EarlierDone && other == a)
		}) {
			out = append(out, other)
		}
	}
	return out
}

// Everything is one scope per asset covering all of its keys.
func (p *Pipeline) Everything() []Scope {
	var out []Scope
	for _, a := range p.Assets {
		out = append(out, Scope{Asset: a})
	}
	return out
}

// Wait is how long after attempt number n (from 1) failed the next may
// start: exponential from Backoff by Factor, capped at MaxBackoff.
func (r Retry) Wait(n int) time.Duration {
	d := r.Backoff
	for i := 1; i < n && d < r.MaxBackoff; i++ {
		d *= time.Duration(max(1, r.Factor))
	}
	return min(d, r.MaxBackoff)
}
