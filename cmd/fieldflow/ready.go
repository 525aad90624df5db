package main

import (
	"context"
	"flag"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

var readyCmd = command{
	name:    "ready",
	summary: "print the keys that can run now as a JSON array (with --after, those KEY released)",
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		after := fs.String("after", "", "only the inputs that finishing this input released")
		asset := fs.String("asset", "", "only inputs of this asset kind (box, field)")
		return func(ctx context.Context) error {
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
			return printJSON(keys)
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
