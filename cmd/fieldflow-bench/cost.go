package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// cost runs the demo's sample (`fieldflow sample --faults`) through the
// local Argo engine (`fieldflow-local run --once`) and through the direct
// engine (one process, no Argo) in the same run, and prints what a file
// costs on Argo: workflows, pods and API-server write requests per input,
// as the API server itself counted them, and the time of each engine with
// Argo's as a ratio of the direct one.
func cost(ctx context.Context, localBin string) error {
	fieldflow := filepath.Join(filepath.Dir(localBin), "fieldflow")
	dir, err := os.MkdirTemp("", "fieldflow-cost-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	argoStore, directStore := filepath.Join(dir, "argo"), filepath.Join(dir, "direct")
	for _, s := range []string{argoStore, directStore} {
		if out, err := exec.CommandContext(ctx, fieldflow, "sample", "--store", s, "--faults").CombinedOutput(); err != nil {
			return fmt.Errorf("fieldflow sample: %v\n%s", err, out)
		}
	}
	t0 := time.Now()
	if out, err := exec.CommandContext(ctx, fieldflow, "run", "--engine", "direct", "--once", "--store", directStore).CombinedOutput(); err != nil {
		return fmt.Errorf("direct engine: %v\n%s", err, out)
	}
	direct := time.Since(t0)
	t0 = time.Now()
	cmd := exec.CommandContext(ctx, localBin, "run", "--once", "--store", argoStore, "--state", filepath.Join(dir, "state"), "--metrics-addr", "127.0.0.1:0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("fieldflow-local run --once: %v\n%s", err, tail(stderr.String(), 20))
	}
	argo := time.Since(t0)
	c, err := parseCost(string(out))
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "the demo's sample, %d inputs\tseconds\tvs direct\tworkflows/input\tpods/input\tAPI writes/input\t\n", c.inputs)
	fmt.Fprintf(tw, "direct engine (one process)\t%.1f\t1.0x\t-\t-\t-\t\n", direct.Seconds())
	fmt.Fprintf(tw, "Argo engine (run --once, engine start included)\t%.1f\t%.1fx\t%.1f\t%.1f\t%.1f\t\n",
		argo.Seconds(), argo.Seconds()/direct.Seconds(), c.per(c.workflows), c.per(c.pods), c.per(c.writes))
	return tw.Flush()
}

// costLine is what fieldflow-local run --once prints last (engine.Result.FormatCost).
var costLine = regexp.MustCompile(`(\d+) inputs in \S+: \S+ workflows, \S+ pods, \S+ API writes per input \((\d+) workflows, (\d+) pods, (\d+) writes\)`)

type runCost struct{ inputs, workflows, pods, writes int }

func (c runCost) per(n int) float64 { return float64(n) / float64(c.inputs) }

func parseCost(out string) (runCost, error) {
	m := costLine.FindStringSubmatch(out)
	if m == nil {
		return runCost{}, fmt.Errorf("no cost line in fieldflow-local's output:\n%s", tail(out, 5))
	}
	n := make([]int, 4)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return runCost{inputs: n[0], workflows: n[1], pods: n[2], writes: n[3]}, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
