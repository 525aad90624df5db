package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/pipeline"
)

var processCmd = command{
	name: "process",
	summary: fmt.Sprintf("process one input (exit %d done, %d retryable error, %d invalid: quarantined)",
		pipeline.ExitOK, pipeline.ExitRetry, pipeline.ExitPermanent),
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		key := fs.String("key", "", "input key to process")
		resultFile := fs.String("result-file", "", "write the result as JSON to this file")
		outputs := outputsFlag(fs)
		return func(ctx context.Context) error {
			p, err := openKey(ctx, *storeURL, *key)
			if err != nil {
				return err
			}
			res, err := p.Process(ctx, *key)
			if *resultFile != "" {
				if werr := writeResult(*resultFile, res); werr != nil {
					return fmt.Errorf("%w (and processing said: %v)", werr, err)
				}
			}
			if werr := writeOutputs(*outputs, res); werr != nil && err == nil {
				err = werr
			}
			if perr := printJSON(res); perr != nil && err == nil {
				err = perr
			}
			return err
		}
	},
}

func writeResult(path string, res processor.Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}
