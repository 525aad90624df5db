package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report prints each series' median, min and max, its median as a ratio
// of the first series' (the baseline, by hand on MinIO), the engine
// paths' split at the Workflow and every timing in upload order, so that
// a slow first event shows.
func report(w io.Writer, reps int, all []series) {
	base := median(all[0].totals())
	fmt.Fprintf(w, "\nupload to output of a small box file, %d uploads each; ratios of medians against fieldflow process %s (%s):\n", reps, all[0].name, base)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\tmedian\tmin\tmax\tx by hand\tupload->Workflow\tWorkflow->output\tengine up\tfollowing uploads\t")
	for _, s := range all {
		total := s.totals()
		if len(total) == 0 {
			fmt.Fprintf(tw, "%s\tno output\t\t\t\t\t\t\t\t\n", s.name)
			continue
		}
		toWorkflow, toOutput := s.split()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1fx\t%s\t%s\t%s\t%s\t\n", s.name, median(total), ms(slices.Min(total)), ms(slices.Max(total)),
			median(total).Seconds()/base.Seconds(), orDash(toWorkflow), orDash(toOutput), secondsOrDash(s.up), secondsOrDash(s.ready))
	}
	tw.Flush()
	fmt.Fprintln(w, "upload->Workflow and Workflow->output are medians; a Workflow is timed when a watch on the engine's API server sees it.")
	for _, s := range all {
		if s.up == 0 {
			continue
		}
		fmt.Fprintf(w, "  %s, in upload order (upload->Workflow + Workflow->output): %s", s.name, list(s.timings))
		if s.lost > 0 || s.duplicated > 0 {
			fmt.Fprintf(w, "; %d lost (no output in a minute), %d with more than one Workflow", s.lost, s.duplicated)
		}
		fmt.Fprintln(w)
	}
}

func orDash(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	return median(ds).String()
}

func secondsOrDash(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(100 * time.Millisecond).String()
}

func list(timings []timing) string {
	s := make([]string, len(timings))
	for i, x := range timings {
		s[i] = ms(x.total).String()
		if x.toWorkflow != 0 {
			s[i] += fmt.Sprintf(" (%s + %s)", ms(x.toWorkflow), ms(x.total-x.toWorkflow))
		}
	}
	return strings.Join(s, ", ")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return ms(s[len(s)/2])
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
