// Command fieldflow-bench measures `fieldflow process` against baselines
// run on the same file in the same run: cat (the I/O floor), cat followed
// by sync (the floor for a durable write, which fieldflow does), and jq (what
// a user would do by hand). It prints throughput, ratios and peak RSS. With
// --minio it also measures the commands that read a whole store (ready,
// ready --limit, status) and one check on a MinIO bucket holding a backlog
// of 20,000 inputs, against listings with the SDK. With --local it also
// times a small upload to its output through the local Argo engine, by
// Argo Events' path on MinIO and by the engine's own watcher on a folder,
// against `fieldflow process` by hand in the same run, and what the demo's
// sample costs through it (workflows, pods, API writes per input) beside
// the direct engine's time.
//
//	go run ./cmd/fieldflow-bench --fieldflow .cache/bin/fieldflow
//	go run ./cmd/fieldflow-bench --fieldflow .cache/bin/fieldflow --minio .cache/minio-*/minio --cases backlog
//	go run ./cmd/fieldflow-bench --fieldflow .cache/image/bin/fieldflow-linux-amd64 --local .cache/bin/fieldflow-local --minio .cache/minio-*/minio --cases latency --uploads 3
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fieldflow/fieldflow/cmd/internal/peakrss"
	"github.com/fieldflow/fieldflow/processor/sample"
)

const box = "01976dbcbdb77dc4b9b61ba545503b77"

var key = "boxes/input/bounding_box_" + box + ".jsonl"

type measure struct {
	seconds float64
	rssKiB  int64
}

func main() {
	fieldflow := flag.String("fieldflow", ".cache/bin/fieldflow", "fieldflow binary")
	reps := flag.Int("reps", 3, "runs of each fast command; the best is kept")
	sizes := flag.String("sizes", "16,256", "input sizes in MiB")
	local := flag.String("local", "", "fieldflow-local binary: also measure upload-to-output latency through Argo (Argo Events on MinIO, the engine's watcher on a folder)")
	minio := flag.String("minio", "", "MinIO server binary for the backlog and latency measures")
	uploads := flag.Int("uploads", 5, "uploads timed by each path of the latency measure")
	cases := flag.String("cases", "process,backlog,latency,cost", "which measures to run (backlog needs --minio, latency --local and --minio, cost --local)")
	shape := backlogShape{}
	flag.IntVar(&shape.boxes, "backlog-boxes", 500, "backlog: bounding boxes")
	flag.IntVar(&shape.dates, "backlog-dates", 13, "backlog: dates of field files per box")
	flag.IntVar(&shape.perDate, "backlog-per-date", 3, "backlog: field files per box and date (late uploads)")
	flag.Parse()
	selected := map[string]bool{}
	for _, c := range strings.Split(*cases, ",") {
		selected[strings.TrimSpace(c)] = true
	}
	ctx := context.Background()
	fmt.Println(header(*fieldflow))
	var err error
	if selected["process"] {
		err = run(*fieldflow, *reps, *sizes)
	}
	if err == nil && selected["backlog"] && *minio != "" {
		err = backlog(ctx, *fieldflow, *minio, shape, *reps)
	}
	if err == nil && selected["latency"] && *local != "" {
		err = latency(ctx, *fieldflow, *local, *minio, *uploads)
	}
	if err == nil && selected["cost"] && *local != "" {
		err = cost(ctx, *local)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fieldflow-bench:", err)
		os.Exit(1)
	}
}

// header dates the figures that follow and names what they measured: the
// commit the fieldflow binary was built from (make image stamps it) and
// the machine.
func header(fieldflow string) string {
	out, err := exec.Command(fieldflow, "version").Output()
	version := strings.TrimSpace(string(out))
	if err != nil {
		version = fmt.Sprintf("%s: %v", fieldflow, err)
	}
	return fmt.Sprintf("fieldflow-bench %s; %s; %s/%s, %d CPUs", time.Now().UTC().Format(time.RFC3339), version, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
}

func run(fieldflow string, reps int, sizeList string) error {
	if _, err := exec.LookPath("jq"); err != nil {
		return fmt.Errorf("jq is needed as a baseline: apt-get install jq")
	}
	abs, err := filepath.Abs(fieldflow)
	if err != nil {
		return err
	}
	var sizes []int
	for _, s := range strings.Split(sizeList, ",") {
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil {
			return fmt.Errorf("size %q: %w", s, err)
		}
		sizes = append(sizes, n)
	}
	dir, err := os.MkdirTemp("", "fieldflow-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "input\tcommand\tseconds\tMB/s\tpeak RSS MiB\tfieldflow speed-up\t")
	rss := map[int]int64{}
	var last map[string]measure
	for _, mib := range sizes {
		in := filepath.Join(dir, "data", key)
		bytes, err := generate(in, int64(mib)<<20)
		if err != nil {
			return err
		}
		out := filepath.Join(dir, "out.jsonl")
		m := map[string]measure{}
		m["cat"] = best(reps, func() (measure, error) { return timed(out, "cat", in) })
		m["cat+sync"] = best(reps, func() (measure, error) {
			return timed("", "sh", "-c", `cat "$1" > "$2" && sync "$2"`, "sh", in, out)
		})
		m["jq"] = best(1, func() (measure, error) { return timed(out, "jq", "-c", ".is_processed=true", in) })
		output := filepath.Join(dir, "data", "boxes/output/bounding_box_"+box+".jsonl")
		m["fieldflow"] = best(reps, func() (measure, error) {
			os.Remove(output)
			return timed("", abs, "process", "--store", filepath.Join(dir, "data"), "--key", key)
		})
		for _, c := range []string{"cat", "cat+sync", "jq", "fieldflow"} {
			if m[c].seconds == 0 {
				return fmt.Errorf("%s failed", c)
			}
			speedup := m[c].seconds / m["fieldflow"].seconds
			fmt.Fprintf(tw, "%d MiB\t%s\t%.3f\t%.0f\t%.1f\t%.2fx\t\n", mib, c, m[c].seconds,
				float64(bytes)/1e6/m[c].seconds, float64(m[c].rssKiB)/1024, speedup)
		}
		rss[mib] = m["fieldflow"].rssKiB
		last = m
		os.Remove(in)
	}
	tw.Flush()
	if last == nil {
		return nil
	}
	fmt.Printf("\nfieldflow is %.1fx faster than jq, takes %.2fx the time of cat and %.2fx the time of cat+sync (%d MiB input).\n",
		last["jq"].seconds/last["fieldflow"].seconds,
		last["fieldflow"].seconds/last["cat"].seconds,
		last["fieldflow"].seconds/last["cat+sync"].seconds, sizes[len(sizes)-1])
	keys := make([]int, 0, len(rss))
	for k := range rss {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	fmt.Print("fieldflow peak RSS by input size:")
	for _, k := range keys {
		fmt.Printf(" %d MiB -> %.1f MiB;", k, float64(rss[k])/1024)
	}
	fmt.Println()
	return nil
}

// generate writes bounding box records until size bytes.
func generate(path string, size int64) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	cw := &counter{w: w}
	rng := rand.New(rand.NewPCG(7, 11))
	for cw.n < size {
		sample.AppendBox(cw, rng, box)
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return cw.n, f.Sync()
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// timed runs a command, its stdout to stdoutPath when set, and returns its
// wall time and peak RSS.
func timed(stdoutPath string, name string, args ...string) (measure, error) {
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if stdoutPath != "" {
		f, err := os.Create(stdoutPath)
		if err != nil {
			return measure{}, err
		}
		defer f.Close()
		cmd.Stdout = f
	}
	start := time.Now()
	peak, err := peakrss.Run(cmd)
	if err != nil {
		return measure{}, fmt.Errorf("%s: %w\n%s", name, err, stderr.String())
	}
	return measure{seconds: time.Since(start).Seconds(), rssKiB: peak}, nil
}

func best(reps int, f func() (measure, error)) measure {
	var b measure
	for range reps {
		m, err := f()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return measure{}
		}
		if b.seconds == 0 || m.seconds < b.seconds {
			b.seconds = m.seconds
		}
		b.rssKiB = max(b.rssKiB, m.rssKiB)
	}
	return b
}
