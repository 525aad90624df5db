package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/store"
)

const (
	boxA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	boxB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func boxKey(b string) string { return "boxes/input/bounding_box_" + b + ".jsonl" }
func fieldKey(b, date string) string {
	return "fields/input/" + b + "/fields_" + date + ".jsonl"
}

// now is when the tables are judged.
var now = time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)

// bucket describes what a bucket holds, by input key. Every input is at
// version "v2".
type bucket struct {
	inputs      []string
	done        []string // inputs whose output was made from v2
	changed     []string // inputs whose output was made from v1: changed since
	unrecorded  []string // inputs with an output and no provenance marker
	quarantined []string // inputs with a report for their current version
	stale       []string // inputs with a report for an older version (re-uploaded)
	failed      []string // inputs whose attempt 1 of v2 failed a second ago
	attempts    map[string]Note
}

func (b bucket) index(t *testing.T, p *pipeline.Pipeline) *Index {
	t.Helper()
	idx := NewIndex(now)
	for _, k := range b.inputs {
		in, err := p.Parse(k)
		if err != nil {
			t.Fatal(err)
		}
		idx.Inputs[k] = Entry{Input: in, Info: store.Info{Key: k, Version: "v2"}}
	}
	output := func(keys []string, made ...string) {
		for _, k := range keys {
			in, _ := p.Parse(k)
			idx.Outputs[in.OutputKey()] = store.Info{Key: in.OutputKey(), ModTime: now.Add(-time.Hour)}
			if len(made) > 0 {
				idx.Made[k] = made
			}
		}
	}
	output(b.done, "v2")
	output(b.changed, "v1")
	output(b.unrecorded)
	for _, k := range b.quarantined {
		idx.Quarantined[k] = Note{Key: p.ReportKey(k), Version: "v2", Summary: "1 of 3 lines invalid, first line 2: json: boom"}
	}
	for _, k := range b.stale {
		idx.Quarantined[k] = Note{Key: p.ReportKey(k), Version: "v1", Summary: "old"}
	}
	for _, k := range b.failed {
		idx.Failed[k] = Note{Key: p.FailedKey(k), Version: "v2", Summary: "upload: connection reset", Attempt: 1, At: now.Add(-time.Second)}
	}
	for k, n := range b.attempts {
		n.Key = p.FailedKey(k)
		idx.Failed[k] = n
	}
	return idx
}

func TestJudge(t *testing.T) {
	p, err := pipeline.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d02, d03, d04 := fieldKey(boxA, "2025-06-02"), fieldKey(boxA, "2025-06-03"), fieldKey(boxA, "2025-06-04")
	late02 := "fields/input/" + boxA + "/fields_2025-06-02_late-upload-7.jsonl"
	for _, tc := range []struct {
		name   string
		bucket bucket
		key    string
		state  State
		ready  bool
		reason string
	}{
		{"box has no rules", bucket{inputs: []string{boxKey(boxA)}}, boxKey(boxA), Ready, true, "every check holds"},
		{"output exists", bucket{inputs: []string{boxKey(boxA)}, done: []string{boxKey(boxA)}}, boxKey(boxA), Done, false, "output boxes/output/bounding_box_"},
		{"done wins over everything", bucket{inputs: []string{d04}, done: []string{d04}}, d04, Done, false, ""},
		{"first date, box done", bucket{inputs: []string{boxKey(boxA), d02}, done: []string{boxKey(boxA)}}, d02, Ready, true, ""},
		{"before start date", bucket{inputs: []string{boxKey(boxA), fieldKey(boxA, "2025-06-01")}, done: []string{boxKey(boxA)}}, fieldKey(boxA, "2025-06-01"), OutOfRange, false, "dated 2025-06-01, before the start date 2025-06-02"},
		{"box never uploaded", bucket{inputs: []string{d02}}, d02, Waiting, false, "waiting for bounding box " + boxKey(boxA) + " (not uploaded yet)"},
		{"box not processed", bucket{inputs: []string{boxKey(boxA), d02}}, d02, Waiting, false, "(not processed yet)"},
		{"box quarantined", bucket{inputs: []string{boxKey(boxA), d02}, quarantined: []string{boxKey(boxA)}}, d02, Waiting, false, "(quarantined: fix it and upload it again)"},
		{"other box done does not count", bucket{inputs: []string{boxKey(boxB), d02}, done: []string{boxKey(boxB)}}, d02, Waiting, false, "not uploaded yet"},
		{"earlier date missing", bucket{inputs: []string{boxKey(boxA), d02, d03}, done: []string{boxKey(boxA)}}, d03, Waiting, false, "waiting for earlier field file " + d02 + " (not processed yet)"},
		{"earlier late file missing", bucket{inputs: []string{boxKey(boxA), d02, late02, d03}, done: []string{boxKey(boxA), d02}}, d03, Waiting, false, late02},
		{"counts the rest", bucket{inputs: []string{boxKey(boxA), d02, late02, d03, d04}, done: []string{boxKey(boxA)}}, d04, Waiting, false, "and 2 more"},
		{"earlier dates done", bucket{inputs: []string{boxKey(boxA), d02, late02, d03}, done: []string{boxKey(boxA), d02, late02}}, d03, Ready, true, ""},
		{"a gap in dates does not block", bucket{inputs: []string{boxKey(boxA), d02, d04}, done: []string{boxKey(boxA), d02}}, d04, Ready, true, ""},
		{"same date does not wait", bucket{inputs: []string{boxKey(boxA), d02, late02}, done: []string{boxKey(boxA)}}, late02, Ready, true, ""},
		{"late data for a processed date runs", bucket{inputs: []string{boxKey(boxA), d02, late02, d03}, done: []string{boxKey(boxA), d02, d03}}, late02, Ready, true, ""},
		{"out-of-range files do not block", bucket{inputs: []string{boxKey(boxA), fieldKey(boxA, "2025-06-01"), d02}, done: []string{boxKey(boxA)}}, d02, Ready, true, ""},
		{"other boxes do not block", bucket{inputs: []string{boxKey(boxA), fieldKey(boxB, "2025-06-02"), d03}, done: []string{boxKey(boxA)}}, d03, Ready, true, ""},
		{"box and dates both missing", bucket{inputs: []string{d02, d03}}, d03, Waiting, false, "(not uploaded yet); waiting for earlier field file"},
		{"earlier file quarantined", bucket{inputs: []string{boxKey(boxA), d02, d03}, done: []string{boxKey(boxA)}, quarantined: []string{d02}}, d03, Waiting, false, d02 + " (quarantined: fix it and upload it again)"},
		{"quarantined", bucket{inputs: []string{boxKey(boxA), d02}, done: []string{boxKey(boxA)}, quarantined: []string{d02}}, d02, Quarantined, false, "1 of 3 lines invalid, first line 2: json: boom (report quarantine/" + d02 + ".error.txt"},
		{"re-uploaded after quarantine", bucket{inputs: []string{boxKey(boxA), d02}, done: []string{boxKey(boxA)}, stale: []string{d02}}, d02, Ready, true, ""},
		{"failed: retried after its backoff", bucket{inputs: []string{boxKey(boxA), d02}, done: []string{boxKey(boxA)}, failed: []string{d02}}, d02, Retrying, false, "attempt 1 of 5 failed: upload: connection reset; runs again from 2025-06-10T12:00:09Z"},
		{"failed, backoff over", bucket{inputs: []string{boxKey(boxA)}, attempts: map[string]Note{boxKey(boxA): {Version: "v2", Attempt: 2, At: now.Add(-21 * time.Second), Summary: "stalled"}}}, boxKey(boxA), Retrying, true, "attempt 2 of 5 failed: stalled"},
		{"an attempt is running", bucket{inputs: []string{boxKey(boxA)}, attempts: map[string]Note{boxKey(boxA): {Version: "v2", Attempt: 1, At: now.Add(-time.Second), Running: true, Summary: Unfinished}}}, boxKey(boxA), Running, false, "attempt 1 of 5 started 2025-06-10T11:59:59Z"},
		{"an attempt never finished", bucket{inputs: []string{boxKey(boxA)}, attempts: map[string]Note{boxKey(boxA): {Version: "v2", Attempt: 3, At: now.Add(-time.Minute), Running: true, Summary: Unfinished}}}, boxKey(boxA), Retrying, true, "attempt 3 of 5 failed: did not finish: the process was killed or crashed"},
		{"gave up after the last attempt", bucket{inputs: []string{boxKey(boxA)}, attempts: map[string]Note{boxKey(boxA): {Version: "v2", Attempt: 5, At: now.Add(-time.Hour), Summary: "connection refused"}}}, boxKey(boxA), Failed, false, "gave up after 5 attempts: connection refused"},
		{"a killed last attempt gives up", bucket{inputs: []string{boxKey(boxA)}, attempts: map[string]Note{boxKey(boxA): {Version: "v2", Attempt: 5, At: now.Add(-time.Hour), Running: true, Summary: Unfinished}}}, boxKey(boxA), Failed, false, "gave up after 5 attempts: did not finish"},
		{"a re-upload starts the attempts over", bucket{inputs: []string{boxKey(boxA)}, attempts: map[string]Note{boxKey(boxA): {Version: "v1", Attempt: 5, At: now.Add(-time.Second), Summary: "connection refused"}}}, boxKey(boxA), Ready, true, "every check holds"},
		{"failed but now waiting", bucket{inputs: []string{d02}, failed: []string{d02}}, d02, Waiting, false, "not uploaded yet"},
		{"earlier file failed", bucket{inputs: []string{boxKey(boxA), d02, d03}, done: []string{boxKey(boxA)}, failed: []string{d02}}, d03, Waiting, false, "(its attempt 1 failed: upload: connection reset)"},
		{"changed after it was processed", bucket{inputs: []string{boxKey(boxA)}, changed: []string{boxKey(boxA)}}, boxKey(boxA), Stale, true, "input changed after it was processed on 2025-06-10T11:00:00Z"},
		{"an output without provenance is not done", bucket{inputs: []string{boxKey(boxA)}, unrecorded: []string{boxKey(boxA)}}, boxKey(boxA), Stale, true, "has no record of the input version it was made from"},
		{"a stale box does not hold back its fields", bucket{inputs: []string{boxKey(boxA), d02}, changed: []string{boxKey(boxA)}}, d02, Ready, true, ""},
		{"a stale field still waits for its box", bucket{inputs: []string{d02}, changed: []string{d02}}, d02, Waiting, false, "not uploaded yet"},
		{"a stale earlier date does not block", bucket{inputs: []string{boxKey(boxA), d02, d03}, done: []string{boxKey(boxA)}, changed: []string{d02}}, d03, Ready, true, ""},
		{"changed and now invalid", bucket{inputs: []string{boxKey(boxA)}, changed: []string{boxKey(boxA)}, quarantined: []string{boxKey(boxA)}}, boxKey(boxA), Quarantined, false, "json: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idx := tc.bucket.index(t, p)
			v := Judge(p, idx, idx.Inputs[tc.key].Input)
			if v.State != tc.state || v.Ready != tc.ready {
				t.Fatalf("state %s ready %v (%s), want %s ready %v", v.State, v.Ready, v.Reason, tc.state, tc.ready)
			}
			if !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("reason %q, want it to contain %q", v.Reason, tc.reason)
			}
			// The DAG asks for each check by name, whatever the state.
			if asset := idx.Inputs[tc.key].Input.Asset; v.State != Done && len(v.Checks) != len(asset.Checks) {
				t.Errorf("%d checks reported, want all %d of %s: %+v", len(v.Checks), len(asset.Checks), asset.Name, v.Checks)
			}
		})
	}
}

// TestChecksAreReported checks that every check of an asset is listed with
// its own outcome, as the Argo DAG shows them one task each.
func TestChecksAreReported(t *testing.T) {
	p, _ := pipeline.Load(func(string) string { return "" })
	d03 := fieldKey(boxA, "2025-06-03")
	idx := bucket{inputs: []string{boxKey(boxA), fieldKey(boxA, "2025-06-02"), d03}, done: []string{boxKey(boxA)}}.index(t, p)
	v := Judge(p, idx, idx.Inputs[d03].Input)
	want := []struct {
		name string
		ok   bool
	}{{"start-date", true}, {"box-processed", true}, {"earlier-dates-processed", false}}
	if len(v.Checks) != len(want) {
		t.Fatalf("checks = %+v", v.Checks)
	}
	for i, w := range want {
		if v.Checks[i].Name != w.name || v.Checks[i].OK != w.ok || v.Checks[i].Reason == "" {
			t.Errorf("check %d = %+v, want %s ok=%v", i, v.Checks[i], w.name, w.ok)
		}
	}
}
