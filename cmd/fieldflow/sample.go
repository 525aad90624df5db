package main

import (
	"context"
	"flag"
	"log/slog"

	"github.com/fieldflow/fieldflow/processor/sample"
)

var sampleCmd = command{
	name:    "sample",
	summary: "write sample inputs: 5 boxes, fields from 2025-06-01 to 2025-06-05",
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		opt := sample.Defaults()
		fs.Uint64Var(&opt.Seed, "seed", opt.Seed, "random seed: the same seed writes the same files")
		fs.IntVar(&opt.Boxes, "boxes", opt.Boxes, "number of bounding boxes")
		fs.BoolVar(&opt.Faults, "faults", false, "add an invalid file, fields of a missing box and a file that is no input")
		return func(ctx context.Context) error {
			p, err := open(ctx, *storeURL)
			if err != nil {
				return err
			}
			keys, err := sample.Write(ctx, p.Store(), p.Pipeline(), opt)
			if err != nil {
				return err
			}
			slog.Info("sample written", "store", p.Store().String(), "files", len(keys))
			return nil
		}
	},
}
