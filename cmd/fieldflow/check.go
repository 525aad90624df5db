package main

import (
	"context"
	"flag"
)

var checkCmd = command{
	name:    "check",
	summary: `print {"key","state","ready","reason"} for one input as JSON`,
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		key := fs.String("key", "", "input key to judge")
		return func(ctx context.Context) error {
			if *key == "" {
				return usageError("--key is required")
			}
			p, err := open(ctx, *storeURL)
			if err != nil {
				return err
			}
			v, err := p.Check(ctx, *key)
			if err != nil {
				return err
			}
			return printJSON(v)
		}
	},
}
