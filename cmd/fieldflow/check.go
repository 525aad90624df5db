package main

import (
	"context"
	"flag"

	"github.com/fieldflow/fieldflow/processor"
)

var checkCmd = command{
	name:    "check",
	summary: `print {"key","state","ready","reason"} for one input as JSON (with --check, one dependency check)`,
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		key := fs.String("key", "", "input key to judge")
		only := fs.String("check", "", "judge only this dependency check (as the Argo DAG does, one task a check)")
		return func(ctx context.Context) error {
			p, err := openKey(ctx, *storeURL, *key)
			if err != nil {
				return err
			}
			v, err := p.Check(ctx, *key)
			if err != nil {
				return err
			}
			if *only != "" {
				if v, err = processor.OneCheck(v, *only); err != nil {
					return err
				}
			}
			return printJSON(v)
		}
	},
}
