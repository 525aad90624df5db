package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// Profiles are the assets' pod resources by asset name. A definition file's
// entry is decoded over the asset's current profile (the default), so
// `field: {memoryLimit: 1Gi}` changes that one quantity; an unknown asset or
// key is an error, so a typo cannot silently keep a default.
type Profiles map[string]pipeline.Profile

// UnmarshalJSON decodes entries over the profiles already there.
func (ps *Profiles) UnmarshalJSON(b []byte) error {
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(b, &entries); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	out := maps.Clone(*ps)
	if out == nil {
		out = Profiles{}
	}
	for name, entry := range entries {
		p, ok := out[name]
		if !ok {
			return fmt.Errorf("profiles: no asset %q (assets: %v)", name, slices.Sorted(maps.Keys(out)))
		}
		dec := json.NewDecoder(bytes.NewReader(entry))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return fmt.Errorf("profiles: %s: %w", name, err)
		}
		out[name] = p
	}
	*ps = out
	return nil
}
