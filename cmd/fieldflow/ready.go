package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

var readyCmd = command{
	name:    "ready",
	summary: "print the keys that can run now, in run order, as a JSON array (with --after, those KEY released)",
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		after := fs.String("after", "", "only the inputs that finishing this input released")
		asset := fs.String("asset", "", "only inputs of this asset kind (box, field)")
		limit := fs.Int("limit", 0, fmt.Sprintf("print only the first N in run order, and no more than fit in %d bytes of JSON (0: all)", pipeline.PageBytes))
		return func(ctx context.Context) error {
			if *limit < 0 {
				return usageError("--limit must be 0 (all) or more")
			}
			p, err := open(ctx, *storeURL)
			if err != nil {
				return err
			}
			keys, err := p.Ready(ctx, *after)
			if err != nil {
				return err
			}
			if *asset != "" {
				if keys, err = ofAsset(p.Pipeline(), keys, *asset); err != nil {
					return err
				}
			}
			page, err := p.Pipeline().Page(keys, *limit)
			if err != nil {
				return err
			}
			return printJSON(keysOf(page))
		}
	},
}

// ofAsset keeps the keys of one asset kind.
func ofAsset(p *pipeline.Pipeline, keys []string, asset string) ([]string, error) {
	if p.Asset(asset) == nil {
		return nil, usageError("no asset " + asset)
	}
	out := []string{}
	for _, k := range keys {
		if in, err := p.Parse(k); err == nil && in.Asset.Name == asset {
			out = append(out, k)
		}
	}
	return out, nil
}

func keysOf(ins []pipeline.Input) []string {
	out := make([]string, 0, len(ins))
	for _, in := range ins {
		out = append(out, in.Key)
	}
	return out
}
