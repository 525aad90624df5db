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

	"github.com/fieldflow/fieldflow/processor"
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
			if err := writeStatusOutputs(ctx, p, vs, *outputs, time.Now()); err != nil {
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

// writeStatusOutputs writes, for the reconcile template's gauges, one file
// per state holding the number of inputs in it (zeros too, so every gauge
// gets a value) and oldest_waiting_seconds, the age of the oldest waiting
// input: a count alone cannot tell a file that waits a minute for its box
// from one that has waited a week for an upload that never came.
func writeStatusOutputs(ctx context.Context, p *processor.Processor, vs []rules.Verdict, dir string, now time.Time) error {
	if dir == "" {
		return nil
	}
	oldest, err := oldestWaiting(ctx, p, vs, now)
	if err != nil {
		return err
	}
	out := map[string]int64{"oldest_waiting_seconds": int64(oldest / time.Second)}
	for _, s := range rules.States {
		out[string(s)] = 0
	}
	for _, v := range vs {
		out[string(v.State)]++
	}
	return writeOutputs(dir, out)
}

// oldestWaiting is how long the oldest waiting input has been in the store,
// by its modification time (the upload, on S3), or 0 when none waits. It
// lists only the input folders of assets that have a waiting input: one
// listing each, however many inputs wait.
func oldestWaiting(ctx context.Context, p *processor.Processor, vs []rules.Verdict, now time.Time) (time.Duration, error) {
	waiting, assets := map[string]bool{}, map[string]bool{}
	for _, v := range vs {
		if v.State == rules.Waiting {
			waiting[v.Key], assets[v.Asset] = true, true
		}
	}
	var oldest time.Time
	for _, a := range p.Pipeline().Assets {
		if !assets[a.Name] {
			continue
		}
		for info, err := range p.Store().List(ctx, a.InputPrefix+"/") {
			if err != nil {
				return 0, fmt.Errorf("status: age of waiting inputs: %w", err)
			}
			if waiting[info.Key] && (oldest.IsZero() || info.ModTime.Before(oldest)) {
				oldest = info.ModTime
			}
		}
	}
	if oldest.IsZero() {
		return 0, nil
	}
	return max(now.Sub(oldest), 0), nil
}
