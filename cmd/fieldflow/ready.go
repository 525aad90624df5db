package main

import (
	"context"
	"flag"
)

var readyCmd = command{
	name:    "ready",
	summary: "print the keys that can run now as a JSON array (with --after, those KEY released)",
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		after := fs.String("after", "", "only the inputs that finishing this input released")
		return func(ctx context.Context) error {
			p, err := open(ctx, *storeURL)
			if err != nil {
				return err
			}
			keys, err := p.Ready(ctx, *after)
			if err != nil {
				return err
			}
			return printJSON(keys)
		}
	},
}
