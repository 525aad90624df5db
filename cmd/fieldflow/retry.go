package main

import (
	"context"
	"flag"
)

var retryCmd = command{
	name:    "retry",
	summary: "forget an input's failed attempts so that it runs again from its first (prints its state)",
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		key := fs.String("key", "", "input key whose failed attempts to forget")
		return func(ctx context.Context) error {
			p, err := openKey(ctx, *storeURL, *key)
			if err != nil {
				return err
			}
			v, err := p.Retry(ctx, *key)
			if err != nil {
				return err
			}
			return printJSON(v)
		}
	},
}
