package pipeline

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// How much one reconcile run, or one release step, takes on. Argo passes
// the listed keys from the listing step to the step that submits a Workflow
// for each through an output parameter, and keeps only the last 256 kB of
// what a step prints: an unbounded list of a large backlog arrives cut and
// starts nothing. A page is bounded twice, by count and by size.
const (
	// PageLimit is how many inputs one run submits at most, unless the
	// deployment sets another: every five-minute sweep takes 6,000 an hour
	// off a backlog, few enough Workflows for a small cluster to start at
	// once.
	PageLimit = 500
	// PageBytes bounds a page's JSON array of keys, half of what Argo
	// keeps of a step's output, whatever the keys' length.
	PageBytes = 128 << 10
)

// RunOrder compares inputs in the order they should run: assets in
// definition order (boxes before the fields that wait for them), then by
// date (an earlier date releases the later ones), then by key. A page
// taken from the front of this order does the most good first.
func (p *Pipeline) RunOrder(a, b Input) int {
	return cmp.Or(
		cmp.Compare(p.assetIndex(a.Asset), p.assetIndex(b.Asset)),
		a.Date.Compare(b.Date),
		strings.Compare(a.Key, b.Key),
	)
}

func (p *Pipeline) assetIndex(a *Asset) int {
	return slices.Index(p.Assets, a)
}

// Page sorts keys into run order and keeps the front of them: at most
// limit inputs whose keys, as a JSON array, take at most PageBytes. With
// limit 0 it keeps them all, unbounded, for a person reading the list.
// Every key must be an input.
func (p *Pipeline) Page(keys []string, limit int) ([]Input, error) {
	ins := make([]Input, 0, len(keys))
	for _, k := range keys {
		in, err := p.Parse(k)
		if err != nil {
			return nil, fmt.Errorf("page: %w", err)
		}
		ins = append(ins, in)
	}
	slices.SortFunc(ins, p.RunOrder)
	if limit <= 0 {
		return ins, nil
	}
	ins = ins[:min(limit, len(ins))]
	size := len("[]")
	for i, in := range ins {
		b, err := json.Marshal(in.Key)
		if err != nil {
			return nil, fmt.Errorf("page: %w", err)
		}
		if i > 0 {
			size++ // the comma
		}
		if size += len(b); size > PageBytes {
			return ins[:i], nil
		}
	}
	return ins, nil
}
