package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestStatusOutputs checks what the reconcile template's gauges read: a
// count for every state, zeros included, and the age of the oldest waiting
// input by modification time, which an older input in another state must
// not raise.
func TestStatusOutputs(t *testing.T) {
	field := func(date string) string { return "fields/input/" + box + "/fields_" + date + ".jsonl" }
	boxIn := "boxes/input/bounding_box_" + box + ".jsonl"
	for _, tc := range []struct {
		name   string
		ages   map[string]time.Duration // input key -> age of its file
		counts map[string]int
		oldest time.Duration
	}{
		{
			name:   "empty store",
			counts: map[string]int{"done": 0, "ready": 0, "waiting": 0, "quarantined": 0, "out-of-range": 0, "failed": 0},
		},
		{
			name: "waiting and out of range",
			ages: map[string]time.Duration{
				boxIn:               time.Minute,
				field("2025-06-01"): 5 * time.Hour, // out of range: older, but not waiting
				field("2025-06-02"): 2 * time.Hour,
				field("2025-06-03"): 10 * time.Minute,
			},
			counts: map[string]int{"done": 0, "ready": 1, "waiting": 2, "quarantined": 0, "out-of-range": 1, "failed": 0},
			oldest: 2 * time.Hour,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, out := t.TempDir(), filepath.Join(t.TempDir(), "outputs")
			for key, age := range tc.ages {
				write(t, dir, key, rec(box))
				at := time.Now().Add(-age)
				if err := os.Chtimes(filepath.Join(dir, key), at, at); err != nil {
					t.Fatal(err)
				}
			}
			if r := fieldflow(t, nil, "status", "--store", dir, "--outputs", out); r.code != 0 {
				t.Fatalf("status --outputs: exit %d\n%s", r.code, r.stderr)
			}
			for state, want := range tc.counts {
				if got := readInt(t, filepath.Join(out, state)); got != int64(want) {
					t.Errorf("%s: %d, want %d", state, got, want)
				}
			}
			got := time.Duration(readInt(t, filepath.Join(out, "oldest_waiting_seconds"))) * time.Second
			if got < tc.oldest || got > tc.oldest+time.Minute {
				t.Errorf("oldest_waiting_seconds: %s, want %s (up to a minute more)", got, tc.oldest)
			}
		})
	}
}

func readInt(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}
