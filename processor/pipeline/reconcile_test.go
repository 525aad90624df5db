package pipeline

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func boxInput(id string) string { return "boxes/input/bounding_box_" + id + ".jsonl" }

func fieldInput(id, date, suffix string) string {
	return "fields/input/" + id + "/fields_" + date + suffix + ".jsonl"
}

func TestPageRunOrder(t *testing.T) {
	p := defaultPipeline(t)
	other := strings.Repeat("a", 32)
	for _, tc := range []struct {
		name string
		keys []string
		want []string
	}{
		{
			name: "boxes first, then fields by date, then by key",
			keys: []string{
				fieldInput(box, "2025-06-03", ""),
				fieldInput(other, "2025-06-02", "_late"),
				boxInput(box),
				fieldInput(box, "2025-06-02", ""),
				fieldInput(other, "2025-06-02", ""),
				boxInput(other),
			},
			want: []string{
				boxInput(box),
				boxInput(other),
				fieldInput(box, "2025-06-02", ""),
				fieldInput(other, "2025-06-02", ""),
				fieldInput(other, "2025-06-02", "_late"),
				fieldInput(box, "2025-06-03", ""),
			},
		},
		{
			// By key alone, box 0197... would run its 06-10 file before
			// box aaaa...'s 06-02 one.
			name: "date before box",
			keys: []string{fieldInput(box, "2025-06-10", ""), fieldInput(other, "2025-06-02", "")},
			want: []string{fieldInput(other, "2025-06-02", ""), fieldInput(box, "2025-06-10", "")},
		},
		{name: "none", keys: nil, want: []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := p.Page(tc.keys, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := keysOf(page); !slices.Equal(got, tc.want) {
				t.Errorf("order\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestPageBounds(t *testing.T) {
	p := defaultPipeline(t)
	var short, long []string
	for i := range 2000 {
		short = append(short, fieldInput(box, "2025-06-02", fmt.Sprintf("_%04d", i)))
		// S3 keys go up to 1,024 bytes; 500 of these are far over PageBytes.
		long = append(long, fieldInput(box, "2025-06-02", fmt.Sprintf("_%s%04d", strings.Repeat("y", 900), i)))
	}
	for _, tc := range []struct {
		name     string
		keys     []string
		limit    int
		want     int  // inputs in the page, unless bytesCut
		bytesCut bool // the page stops at PageBytes, before limit
	}{
		{name: "no limit keeps all", keys: long, limit: 0, want: len(long)},
		{name: "limit", keys: short, limit: PageLimit, want: PageLimit},
		{name: "fewer than limit", keys: short[:10], limit: PageLimit, want: 10},
		{name: "limit 1", keys: short, limit: 1, want: 1},
		{name: "long keys stop at the byte bound", keys: long, limit: PageLimit, bytesCut: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := p.Page(tc.keys, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(keysOf(page))
			if tc.limit > 0 && len(b) > PageBytes {
				t.Errorf("page JSON is %d bytes, over %d", len(b), PageBytes)
			}
			all, _ := p.Page(tc.keys, 0)
			if tc.bytesCut {
				// Cut tight: the next input would not have fitted.
				more, _ := json.Marshal(keysOf(all[:len(page)+1]))
				if len(page) >= tc.limit || len(more) <= PageBytes {
					t.Errorf("%d inputs in %d bytes; with one more %d bytes: not cut at %d", len(page), len(b), len(more), PageBytes)
				}
			} else if len(page) != tc.want {
				t.Errorf("%d inputs, want %d", len(page), tc.want)
			}
			// The page is the front of the run order.
			if !slices.Equal(keysOf(page), keysOf(all[:len(page)])) {
				t.Error("the page is not the front of the run order")
			}
		})
	}
}

func TestPageRefusesNonInputs(t *testing.T) {
	p := defaultPipeline(t)
	if _, err := p.Page([]string{boxInput(box), "elsewhere/x.jsonl"}, 10); err == nil || !strings.Contains(err.Error(), "elsewhere/x.jsonl") {
		t.Errorf("err = %v, want one naming the key", err)
	}
}

func keysOf(ins []Input) []string {
	out := []string{}
	for _, in := range ins {
		out = append(out, in.Key)
	}
	return out
}
