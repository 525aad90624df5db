package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

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
				return printJSON(vs)
			}
			return printStatus(os.Stdout, vs)
		}
	},
}

// printStatus writes the status table and a count by state.
func printStatus(w io.Writer, vs []rules.Verdict) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tKEY\tREASON")
	count := map[rules.State]int{}
	for _, v := range vs {
		count[v.State]++
		reason := v.Reason
		if v.State == rules.Done {
			reason = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.State, v.Key, reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var parts []string
	for _, s := range rules.States {
		if count[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[s], s))
		}
	}
	_, err := fmt.Fprintf(w, "\n%d inputs: %s\n", len(vs), strings.Join(parts, ", "))
	return err
}
