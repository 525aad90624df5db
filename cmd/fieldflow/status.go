package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/rules"
)

var statusCmd = command{
	name:    "status",
	summary: "show every input with its state and reason",
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
		return func(ctx context.Context) error {
			p, err := open(ctx, *storeURL)
			if err != nil {
				return err
			}
			vs, err := p.Status(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSONList(vs)
			}
			return printStatus(os.Stdout, vs)
		}
	},
}

// printStatus writes the status table and a count by state.
func printStatus(w io.Writer, vs []rules.Verdict) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tKEY\tREASON")
	for _, v := range vs {
		reason := v.Reason
		if v.State == rules.Done {
			reason = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.State, v.Key, reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s\n", processor.Count(vs, time.Now()))
	return err
}
