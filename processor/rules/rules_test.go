package rules

import (
	"strings"
	"testing"

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

// bucket describes what a bucket holds, by input key.
type bucket struct {
	inputs      []string
	done        []string // inputs whose output exists
	quarantined []string // inputs with a report for their current version
	stale       []string // inputs with a report for an older version (re-uploaded)
	failed      []string
}

func (b bucket) index(t *testing.T, p *pipeline.Pipeline) *Index {
	t.Helper()
	idx := NewIndex()
	for _, k := range b.inputs {
		in, err := p.Parse(k)
		if err != nil {
			t.Fatal(err)
		}
		idx.Inputs[k] = Entry{Input: in, Info: store.Info{Key: k, Version: "v2"}}
	}
	for _, k := range b.done {
		in, _ := p.Parse(k)
		idx.Outputs[in.OutputKey()] = true
	}
	for _, k := range b.quarantined {
		idx.Quarantined[k] = Note{Key: p.ReportKey(k), Version: "v2", Summary: "1 of 3 lines invalid, first line 2: json: boom"}
	}
	for _, k := range b.stale {
		idx.Quarantined[k] = Note{Key: p.ReportKey(k), Version: "v1", Summary: "old"}
	}
	for _, k := range b.failed {
		idx.Failed[k] = Note{Key: p.FailedKey(k), Version: "v2", Summary: "upload: connection reset"}
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
		{"earlier file failed", bucket{inputs: []string{boxKey(boxA), d02, d03}, done: []string{boxKey(boxA)}, failed: []string{d02}}, d03, Waiting, false, "(its last run failed)"},
		{"quarantined", bucket{inputs: []string{boxKey(boxA), d02}, done: []string{boxKey(boxA)}, quarantined: []string{d02}}, d02, Quarantined, false, "1 of 3 lines invalid, first line 2: json: boom (report quarantine/" + d02 + ".error.txt"},
		{"re-uploaded after quarantine", bucket{inputs: []string{boxKey(boxA), d02}, done: []string{boxKey(boxA)}, stale: []string{d02}}, d02, Ready, true, ""},
		{"failed is retryable", bucket{inputs: []string{boxKey(boxA), d02}, done: []string{boxKey(boxA)}, failed: []string{d02}}, d02, Failed, true, "last run failed: upload: connection reset (note failed/" + d02},
		{"failed but now waiting", bucket{inputs: []string{d02}, failed: []string{d02}}, d02, Waiting, false, "not uploaded yet"},
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
