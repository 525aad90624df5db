package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fieldflow/fieldflow/processor/rules"
)

var statusCmd = command{
	name:    "status",
	summary: "show every input with its state and reason",
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
		outputs := outputsFlag(fs)
		return func(ctx context.Context) error {
			p, err := open(ctx, *storeURL)
			if err != nil {
				return err
			}
			vs, err := p.Status(ctx)
			if err != nil {
				return err
			}
			if err := writeStatusOutputs(vs, *outputs, time.Now()); err != nil {
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

// writeStatusOutputs writes, for the reconcile template's gauges, one file
// per state holding the number of inputs in it (zeros too, so every gauge
// gets a value) and oldest_waiting_seconds, the age of the oldest waiting
// input: a count alone cannot tell a file that waits a minute for its box
// from one that has waited a week for an upload that never came.
func writeStatusOutputs(vs []rules.Verdict, dir string, now time.Time) error {
	if dir == "" {
		return nil
	}
	oldest := oldestWaiting(vs, now)
	out := map[string]int64{"oldest_waiting_seconds": int64(oldest / time.Second)}
	for _, s := range rules.States {
		out[string(s)] = 0
	}
	for _, v := range vs {
		out[string(v.State)]++
	}
	return writeOutputs(dir, out)
}

// oldestWaiting is how long the oldest waiting input has been in the
// store, by its modification time, or 0 when none waits.
func oldestWaiting(vs []rules.Verdict, now time.Time) time.Duration {
	var oldest time.Time
	for _, v := range vs {
		if v.State == rules.Waiting && (oldest.IsZero() || v.Modified.Before(oldest)) {
			oldest = v.Modified
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return max(now.Sub(oldest), 0)
}
