package processor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/rules"
	"github.com/fieldflow/fieldflow/processor/sample"
	"github.com/fieldflow/fieldflow/processor/store"
	"github.com/fieldflow/fieldflow/processor/store/local"
	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"
)

func TestMain(m *testing.M) {
	code := m.Run()
	s3test.Stop()
	os.Exit(code)
}

const (
	boxA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	boxB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// backends runs a test on a local folder and on a real MinIO bucket.
func backends(t *testing.T, test func(t *testing.T, st store.Store)) {
	t.Run("local", func(t *testing.T) {
		st, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		test(t, st)
	})
	t.Run("minio", func(t *testing.T) {
		test(t, s3test.Require(t).Bucket(t))
	})
}

func newProcessor(t *testing.T, st store.Store) *Processor {
	t.Helper()
	pipe, err := pipeline.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return New(st, pipe, nil)
}

func line(box string, isProcessed string) string {
	return `{"box_id": "` + box + `", "coordinates_x_min": 1, "coordinates_y_min": 1, "coordinates_x_max": 3, "coordinates_y_max": 2, "irrigation_array": [[0.0, 1]], "is_processed": ` + isProcessed + "}\n"
}

func put(t *testing.T, st store.Store, key, content string) {
	t.Helper()
	if err := st.Put(context.Background(), key, strings.NewReader(content), nil); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, st store.Store, key string) (string, bool) {
	t.Helper()
	rc, _, err := st.Open(context.Background(), key)
	if errors.Is(err, store.ErrNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

func boxKey(b string) string { return "boxes/input/bounding_box_" + b + ".jsonl" }
func fieldKey(b, date string) string {
	return "fields/input/" + b + "/fields_" + date + ".jsonl"
}

func states(t *testing.T, p *Processor) map[string]rules.State {
	t.Helper()
	vs, err := p.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]rules.State{}
	for _, v := range vs {
		out[v.Key] = v.State
	}
	return out
}

// TestSampleEndToEnd runs the demo's data through the direct engine and
// checks every file ends in the state the rules give.
func TestSampleEndToEnd(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := newProcessor(t, st)
		opt := sample.Defaults()
		opt.Faults = true
		keys, err := sample.Write(ctx, st, p.Pipeline(), opt)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := p.RunOnce(ctx, 4)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Quarantined != 1 || sum.Failed != 0 {
			t.Errorf("summary %+v", sum)
		}
		got := states(t, p)
		var broken, orphan string
		for _, k := range keys {
			if strings.Contains(k, "_broken-upload") {
				broken = k
			}
		}
		brokenIn, _ := p.Pipeline().Parse(broken)
		count := map[rules.State]int{}
		for _, k := range keys {
			in, err := p.Pipeline().Parse(k)
			if errors.Is(err, pipeline.ErrNotInput) {
				if _, listed := got[k]; listed {
					t.Errorf("%s is no input but has a state", k)
				}
				continue
			}
			want := rules.Done
			switch {
			case k == broken:
				want = rules.Quarantined
			case in.Dated() && in.Date.Before(p.Pipeline().StartDate):
				want = rules.OutOfRange
			case in.Asset.Name == "field" && got[boxKey(in.Box)] != rules.Done:
				want, orphan = rules.Waiting, k
			case in.Box == brokenIn.Box && in.Date.After(brokenIn.Date):
				want = rules.Waiting
			}
			if got[k] != want {
				t.Errorf("%s is %s, want %s", k, got[k], want)
			}
			count[got[k]]++
			if want == rules.Done {
				checkOutput(t, st, in)
			} else if _, ok := get(t, st, in.OutputKey()); ok {
				t.Errorf("%s is %s but has an output", k, want)
			}
		}
		if orphan == "" || count[rules.Done] < 20 || count[rules.OutOfRange] == 0 {
			t.Errorf("sample does not show every state: %v", count)
		}
	})
}

// checkOutput compares an output with its input: same lines in the same
// order, is_processed true.
func checkOutput(t *testing.T, st store.Store, in pipeline.Input) {
	t.Helper()
	input, _ := get(t, st, in.Key)
	output, ok := get(t, st, in.OutputKey())
	if !ok {
		t.Errorf("%s has no output", in.Key)
		return
	}
	if want := strings.ReplaceAll(input, `"is_processed": false`, `"is_processed": true`); output != want {
		t.Errorf("output of %s differs from its input with is_processed set", in.Key)
	}
}

func TestQuarantineAndReupload(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := newProcessor(t, st)
		key := fieldKey(boxA, "2025-06-02")
		bad := line(boxA, "false") + "{not json\n" + line(boxB, "false") + line(boxA, `"no"`)
		put(t, st, boxKey(boxA), line(boxA, "false"))
		put(t, st, key, bad)
		if _, err := p.Process(ctx, boxKey(boxA)); err != nil {
			t.Fatal(err)
		}
		res, err := p.Process(ctx, key)
		if !errors.Is(err, ErrPermanent) || res.State != rules.Quarantined {
			t.Fatalf("state %s, err %v; want quarantined and a permanent error", res.State, err)
		}
		if !strings.Contains(err.Error(), "3 of 4 lines invalid, first line 2: json") {
			t.Errorf("error = %v", err)
		}
		if _, ok := get(t, st, "fields/output/"+boxA+"/fields_2025-06-02.jsonl"); ok {
			t.Error("an invalid file has an output")
		}
		if in, _ := get(t, st, key); in != bad {
			t.Error("the input was changed or removed")
		}
		if cp, _ := get(t, st, "quarantine/"+key); cp != bad {
			t.Error("quarantine copy differs from the input")
		}
		report, _ := get(t, st, "quarantine/"+key+".error.txt")
		for _, want := range []string{
			"input: " + key,
			"line 2: json: ",
			"line 3: box-id-mismatch: box_id " + boxB + " does not match box " + boxA,
			"line 4: field-type: is_processed must be a boolean, got a string",
		} {
			if !strings.Contains(report, want) {
				t.Errorf("report lacks %q:\n%s", want, report)
			}
		}
		// Running it again changes nothing and still fails permanently.
		if _, err := p.Process(ctx, key); !errors.Is(err, ErrPermanent) {
			t.Errorf("second run: %v", err)
		}
		if v, _ := p.Check(ctx, key); v.State != rules.Quarantined || v.Ready {
			t.Errorf("check = %+v", v)
		}
		// A corrected upload runs.
		put(t, st, key, line(boxA, "false"))
		if v, _ := p.Check(ctx, key); v.State != rules.Ready {
			t.Errorf("after re-upload: %+v", v)
		}
		if res, err := p.Process(ctx, key); err != nil || res.State != rules.Done || res.Records != 1 {
			t.Errorf("after re-upload: %+v, %v", res, err)
		}
	})
}

func TestProcessIsIdempotent(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := newProcessor(t, st)
		put(t, st, boxKey(boxA), line(boxA, "false"))
		first, err := p.Process(ctx, boxKey(boxA))
		if err != nil || first.AlreadyDone || first.Records != 1 {
			t.Fatalf("%+v %v", first, err)
		}
		out := "boxes/output/bounding_box_" + boxA + ".jsonl"
		before, _ := st.Stat(ctx, out)
		second, err := p.Process(ctx, boxKey(boxA))
		if err != nil || !second.AlreadyDone {
			t.Fatalf("%+v %v", second, err)
		}
		after, _ := st.Stat(ctx, out)
		if before.Version != after.Version {
			t.Error("processing a done input rewrote its output")
		}
	})
}

func TestProcessRefuses(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := newProcessor(t, st)
		put(t, st, fieldKey(boxA, "2025-06-01"), line(boxA, "false"))
		put(t, st, fieldKey(boxA, "2025-06-02"), line(boxA, "false"))
		put(t, st, "fields/input/readme.txt", "hello")
		for _, tc := range []struct {
			key       string
			permanent bool
			msg       string
		}{
			{fieldKey(boxA, "2025-06-02"), false, "is not ready: waiting for bounding box"},
			{fieldKey(boxA, "2025-06-01"), true, "is out-of-range"},
			{"fields/input/readme.txt", true, "not an input"},
			{fieldKey(boxA, "2025-06-09"), true, "no such input"},
			{"../etc/passwd", true, `".." segment`},
		} {
			_, err := p.Process(ctx, tc.key)
			if err == nil || errors.Is(err, ErrPermanent) != tc.permanent || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("process %s: err = %v, want permanent=%v and %q", tc.key, err, tc.permanent, tc.msg)
			}
		}
		if got, _ := get(t, st, "fields/input/readme.txt"); got != "hello" {
			t.Error("a file that is no input was touched")
		}
	})
}

func TestReadyAfter(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := newProcessor(t, st)
		for _, k := range []string{boxKey(boxA), boxKey(boxB), fieldKey(boxA, "2025-06-02"), fieldKey(boxA, "2025-06-03"), fieldKey(boxB, "2025-06-02")} {
			in, _ := p.Pipeline().Parse(k)
			put(t, st, k, line(in.Box, "false"))
		}
		ready := func(after string) string {
			keys, err := p.Ready(ctx, after)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(keys)
		}
		if got, want := ready(""), fmt.Sprint([]string{boxKey(boxA), boxKey(boxB)}); got != want {
			t.Errorf("ready = %s, want %s", got, want)
		}
		if _, err := p.Process(ctx, boxKey(boxA)); err != nil {
			t.Fatal(err)
		}
		// Box A released its first field only; box B's field still waits.
		if got, want := ready(boxKey(boxA)), fmt.Sprint([]string{fieldKey(boxA, "2025-06-02")}); got != want {
			t.Errorf("released by box A = %s, want %s", got, want)
		}
		if _, err := p.Process(ctx, fieldKey(boxA, "2025-06-02")); err != nil {
			t.Fatal(err)
		}
		if got, want := ready(fieldKey(boxA, "2025-06-02")), fmt.Sprint([]string{fieldKey(boxA, "2025-06-03")}); got != want {
			t.Errorf("released by the first date = %s, want %s", got, want)
		}
		// A late upload for the same date is ready, but not released by
		// its sibling, and it holds back the next date.
		late := "fields/input/" + boxA + "/fields_2025-06-02_late.jsonl"
		put(t, st, late, line(boxA, "false"))
		if got := ready(fieldKey(boxA, "2025-06-02")); got != "[]" {
			t.Errorf("released with a late file pending = %s, want []", got)
		}
		if got := ready(""); !strings.Contains(got, late) {
			t.Errorf("ready = %s, want the late file in it", got)
		}
		if _, err := p.Process(ctx, late); err != nil {
			t.Fatal(err)
		}
		if got, want := ready(late), fmt.Sprint([]string{fieldKey(boxA, "2025-06-03")}); got != want {
			t.Errorf("released by the late file = %s, want %s", got, want)
		}
		if _, err := p.Process(ctx, fieldKey(boxA, "2025-06-03")); err != nil {
			t.Fatal(err)
		}
		if got := ready(fieldKey(boxA, "2025-06-03")); got != "[]" {
			t.Errorf("released by the last date = %s, want []", got)
		}
	})
}

// TestCheckListsOnlyItsBox checks that judging one field costs listings
// of its own box's keys, never of a whole folder.
func TestCheckListsOnlyItsBox(t *testing.T) {
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	counting := &listCounter{Store: st}
	p := newProcessor(t, counting)
	put(t, st, boxKey(boxA), line(boxA, "false"))
	put(t, st, fieldKey(boxA, "2025-06-02"), line(boxA, "false"))
	put(t, st, fieldKey(boxB, "2025-06-02"), line(boxB, "false"))
	if _, err := p.Check(context.Background(), fieldKey(boxA, "2025-06-03x")); err == nil {
		t.Error("checking a missing input succeeded")
	}
	counting.prefixes = nil
	if _, err := p.Check(context.Background(), fieldKey(boxA, "2025-06-02")); err != nil {
		t.Fatal(err)
	}
	if len(counting.prefixes) == 0 {
		t.Fatal("no listing")
	}
	for _, prefix := range counting.prefixes {
		if !strings.Contains(prefix, boxA) {
			t.Errorf("listed %q, which is not scoped to box %s", prefix, boxA)
		}
	}
}

type listCounter struct {
	store.Store
	mu       sync.Mutex
	prefixes []string
}

func (l *listCounter) List(ctx context.Context, prefix string) iter.Seq2[store.Info, error] {
	l.mu.Lock()
	l.prefixes = append(l.prefixes, prefix)
	l.mu.Unlock()
	return l.Store.List(ctx, prefix)
}
