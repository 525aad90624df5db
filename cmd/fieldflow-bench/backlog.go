package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/fieldflow/fieldflow/cmd/internal/peakrss"
	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/sample"
	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
)

// backlogShape is the store the backlog case builds: boxes, each with
// dates × perDate field files. Most have outputs, as in a store that has
// run for a while: every tenth box is unprocessed (its fields wait for
// it), the others have their first few dates processed, so that each has
// perDate fields ready at its first date without an output and the rest
// waiting behind them.
type backlogShape struct {
	boxes, dates, perDate int
}

func (s backlogShape) inputs() int { return s.boxes * (1 + s.dates*s.perDate) }

// processedDates is how many of box i's dates have outputs, or -1 when
// the box itself has none.
func (s backlogShape) processedDates(i int) int {
	if i%10 == 0 {
		return -1
	}
	return s.dates/2 + i%(s.dates-s.dates/2+1)
}

// Targets of the backlog case, from the spec: the reconcile's steps run
// with the light profile's 128 MiB limit every five minutes.
const (
	listTarget     = 10 * time.Second
	listRSSTarget  = 128 << 10 // KiB
	checkTarget    = 100 * time.Millisecond
	uploadParallel = 32
)

// backlog measures the commands that read the whole store (ready, ready
// --limit, status) and one check against a MinIO bucket holding a backlog
// of s.inputs() inputs, each against a listing with the SDK in this
// process: the whole bucket for the first, the checked box's folder for
// check.
func backlog(ctx context.Context, fieldflow, minio string, s backlogShape, reps int) error {
	srv, st, err := minioBucket(ctx, minio, "backlog")
	if err != nil {
		return err
	}
	defer srv.Close()
	p, err := pipeline.FromEnv()
	if err != nil {
		return err
	}
	if len(p.Assets) != 2 || p.Assets[0].Name != "box" || p.Assets[1].Name != "field" {
		return fmt.Errorf("the backlog case builds boxes and fields; the pipeline has %d assets", len(p.Assets))
	}
	start := time.Now()
	objects, checked, err := fillBacklog(ctx, st, p, s)
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Printf("\nbacklog: %d inputs (%d boxes, %d field files) and their outputs, %d objects in MinIO, uploaded %d at once in %s (%.0f objects/s)\n",
		s.inputs(), s.boxes, s.inputs()-s.boxes, objects, uploadParallel, took.Round(time.Second), float64(objects)/took.Seconds())

	store := "s3://" + st.Bucket()
	listAll := best(reps, func() (measure, error) { return listed(ctx, st, "", objects) })
	boxPrefix := checked[:strings.LastIndex(checked, "/")+1]
	listBox := best(reps, func() (measure, error) { return listed(ctx, st, boxPrefix, s.dates*s.perDate) })

	type row struct {
		name     string
		args     []string
		base     measure
		baseName string
		time     time.Duration
		rss      int64 // KiB; 0 for no memory target
		check    func([]byte) error
	}
	rows := []row{
		{"fieldflow ready", []string{"ready"}, listAll, "bucket", listTarget, listRSSTarget, wantReady(p, s, 0)},
		{"fieldflow ready --limit 500", []string{"ready", "--limit", "500"}, listAll, "bucket", listTarget, listRSSTarget, wantReady(p, s, 500)},
		{"fieldflow status --json", []string{"status", "--json"}, listAll, "bucket", listTarget, listRSSTarget, wantStatus(s)},
		{"fieldflow check (one field)", []string{"check", "--key", checked}, listBox, "box folder", checkTarget, 0, wantCheck(checked)},
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "command\tseconds\tpeak RSS MiB\tbaseline\tbaseline s\ttime / baseline\ttarget\tmet\t")
	for _, r := range rows {
		var out []byte
		m := best(reps, func() (m measure, err error) {
			m, out, err = captured(fieldflow, append(r.args, "--store", store)...)
			return m, err
		})
		if m.seconds == 0 {
			return fmt.Errorf("%s failed", r.name)
		}
		if err := r.check(out); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		target := r.time.String()
		met := m.seconds <= r.time.Seconds()
		if r.rss > 0 {
			target += fmt.Sprintf(", %d MiB", r.rss>>10)
			met = met && m.rssKiB <= r.rss
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%.1f\tlist %s\t%.3f\t%.1fx\t%s\t%s\t\n", r.name, m.seconds, float64(m.rssKiB)/1024,
			r.baseName, r.base.seconds, m.seconds/r.base.seconds, target, yes(met))
	}
	return tw.Flush()
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// fillBacklog uploads the backlog's inputs and outputs, uploadParallel at
// a time, and returns how many objects it wrote and a field key that is
// ready (its box processed, the first date without output) for check.
func fillBacklog(ctx context.Context, st *s3store.Store, p *pipeline.Pipeline, s backlogShape) (int, string, error) {
	type object struct {
		in        pipeline.Input
		processed bool // with its output and provenance marker
	}
	objects := make(chan object, uploadParallel)
	g, gctx := errgroup.WithContext(ctx)
	for w := range uploadParallel {
		rng := rand.New(rand.NewPCG(uint64(w), 1))
		g.Go(func() error {
			for o := range objects {
				// One record each: the commands measured list, never read.
				var b bytes.Buffer
				if o.in.Asset.BinaryValues {
					sample.AppendBox(&b, rng, o.in.Box)
				} else {
					sample.AppendField(&b, rng, o.in.Box)
				}
				content := b.Bytes()
				if err := st.Put(gctx, o.in.Key, bytes.NewReader(content), nil); err != nil {
					return err
				}
				if !o.processed {
					continue
				}
				// A single-part upload's ETag is its MD5: the version a
				// run would have recorded. status checks the states.
				sum := md5.Sum(content)
				marker := p.ProvenanceKey(o.in.Key, `"`+hex.EncodeToString(sum[:])+`"`)
				for _, key := range []string{o.in.OutputKey(), marker} {
					if err := st.Put(gctx, key, bytes.NewReader(content), nil); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	n, checked := 0, ""
	send := func(in pipeline.Input, processed bool) bool {
		n++
		if processed {
			n += 2
		}
		select {
		case objects <- object{in, processed}:
			return true
		case <-gctx.Done():
			return false
		}
	}
	err := func() error {
		defer close(objects)
		box, field := p.Assets[0], p.Assets[1]
		for i := range s.boxes {
			id := fmt.Sprintf("%032x", uint64(i)*0x9e3779b97f4a7c15) // distinct: the factor is odd
			done := s.processedDates(i)
			in, err := p.InputFor(box, map[string]string{"box": id})
			if err != nil {
				return err
			}
			if !send(in, done >= 0) {
				return nil
			}
			for d := range s.dates {
				date := p.StartDate.AddDate(0, 0, d).Format(p.DateLayout)
				for k := range s.perDate {
					in, err := p.InputFor(field, map[string]string{"box": id, "date": date, "suffix": strings.Repeat("_late", k)})
					if err != nil {
						return err
					}
					if !send(in, d < done) {
						return nil
					}
					if d == done && checked == "" {
						checked = in.Key
					}
				}
			}
		}
		return nil
	}()
	if werr := g.Wait(); werr != nil {
		return 0, "", fmt.Errorf("upload: %w", werr)
	}
	return n, checked, err
}

// listed is the baseline: a plain listing of prefix with the SDK, every
// page, in this process. want is how many keys it must find.
func listed(ctx context.Context, st *s3store.Store, prefix string, want int) (measure, error) {
	start := time.Now()
	name := st.Bucket()
	p := s3.NewListObjectsV2Paginator(st.Client(), &s3.ListObjectsV2Input{Bucket: &name, Prefix: &prefix})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return measure{}, err
		}
		n += len(page.Contents)
	}
	if n != want {
		return measure{}, fmt.Errorf("listing %q found %d objects, want %d", prefix, n, want)
	}
	return measure{seconds: time.Since(start).Seconds()}, nil
}

// captured runs fieldflow and returns its wall time, peak RSS and stdout.
func captured(fieldflow string, args ...string) (measure, []byte, error) {
	cmd := exec.Command(fieldflow, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	peak, err := peakrss.Run(cmd)
	if err != nil {
		return measure{}, nil, fmt.Errorf("fieldflow %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return measure{seconds: time.Since(start).Seconds(), rssKiB: peak}, stdout.Bytes(), nil
}

// wantReady checks a ready listing: every unprocessed box and, for each
// processed box with dates left, its first date's files; with a limit, the
// first limit of them in run order, boxes first.
func wantReady(p *pipeline.Pipeline, s backlogShape, limit int) func([]byte) error {
	boxes, fields := 0, 0
	for i := range s.boxes {
		switch done := s.processedDates(i); {
		case done < 0:
			boxes++
		case done < s.dates:
			fields += s.perDate
		}
	}
	return func(out []byte) error {
		var keys []string
		if err := json.Unmarshal(out, &keys); err != nil {
			return err
		}
		want := boxes + fields
		if limit > 0 {
			want = min(want, limit)
		}
		if len(keys) != want {
			return fmt.Errorf("%d keys ready, want %d (%d boxes, %d fields)", len(keys), want, boxes, fields)
		}
		for i, k := range keys {
			in, err := p.Parse(k)
			if err != nil {
				return err
			}
			if (in.Asset == p.Assets[0]) != (i < boxes) {
				return fmt.Errorf("key %d is %s: not boxes first", i, k)
			}
		}
		return nil
	}
}

// wantStatus checks that status judged every input.
func wantStatus(s backlogShape) func([]byte) error {
	return func(out []byte) error {
		var vs []struct{ State string }
		if err := json.Unmarshal(out, &vs); err != nil {
			return err
		}
		if len(vs) != s.inputs() {
			return fmt.Errorf("%d inputs in the status, want %d", len(vs), s.inputs())
		}
		return nil
	}
}

// wantCheck checks that the field judged is ready.
func wantCheck(key string) func([]byte) error {
	return func(out []byte) error {
		var v struct {
			Key   string
			State string
		}
		if err := json.Unmarshal(out, &v); err != nil {
			return err
		}
		if v.Key != key || v.State != "ready" {
			return fmt.Errorf("check %s: %+v, want ready", key, v)
		}
		return nil
	}
}
