package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fieldflow/fieldflow/cmd/internal/peakrss"
	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/sample"
	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"
)

var bin string

// TestMain builds the real binary: these tests check the contract scripts
// and Argo templates rely on, exit codes included.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fieldflow-cli-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "fieldflow")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	s3test.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
	maxRSSKiB      int64
}

func fieldflow(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	peak, err := peakrss.Run(cmd)
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode(), maxRSSKiB: peak}
}

const box = "0123456789abcdef0123456789abcdef"

func rec(b string) string {
	return `{"box_id": "` + b + `", "coordinates_x_min": 0, "coordinates_y_min": 0, "coordinates_x_max": 2, "coordinates_y_max": 1, "irrigation_array": [[1, 0]], "is_processed": false}` + "\n"
}

func write(t *testing.T, dir, key, content string) {
	t.Helper()
	p := filepath.Join(dir, key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestProcessExitCodes(t *testing.T) {
	dir := t.TempDir()
	boxIn := "boxes/input/bounding_box_" + box + ".jsonl"
	field := "fields/input/" + box + "/fields_2025-06-02.jsonl"
	bad := "fields/input/" + box + "/fields_2025-06-02_bad.jsonl"
	other := strings.Repeat("e", 32)
	orphan := "fields/input/" + other + "/fields_2025-06-02.jsonl"
	write(t, dir, orphan, rec(other))
	write(t, dir, field, rec(box))
	write(t, dir, bad, rec(box)+rec(box)[:20]+"\n")
	write(t, dir, "fields/input/notes.txt", "x")
	write(t, dir, boxIn, rec(box))
	if r := fieldflow(t, nil, "process", "--store", dir, "--key", boxIn); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	resultFile := filepath.Join(t.TempDir(), "result.json")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"field before its box", []string{"process", "--key", orphan}, pipeline.ExitRetry, "is not ready: waiting for bounding box boxes/input/bounding_box_" + other + ".jsonl (not uploaded yet)"},
		{"no such input", []string{"process", "--key", "boxes/input/bounding_box_" + other + ".jsonl"}, pipeline.ExitPermanent, "no such input"},
		{"not an input", []string{"process", "--key", "fields/input/notes.txt"}, pipeline.ExitPermanent, "not an input"},
		{"escaping key", []string{"process", "--key", "../../etc/passwd"}, pipeline.ExitPermanent, `".." segment`},
		{"no key", []string{"process"}, pipeline.ExitPermanent, "--key is required"},
		{"no store", []string{"process", "--key", field, "--store", ""}, pipeline.ExitPermanent, "no store"},
		{"bad flag", []string{"process", "--nope"}, pipeline.ExitPermanent, "flag provided but not defined"},
		{"unknown subcommand", []string{"frobnicate"}, pipeline.ExitPermanent, `unknown subcommand "frobnicate"`},
		{"invalid file", []string{"process", "--key", bad, "--result-file", resultFile}, pipeline.ExitPermanent, bad + " is invalid: 1 of 2 lines invalid, first line 2: json: unterminated string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "--store", dir)
			if tc.name == "no store" || tc.name == "unknown subcommand" {
				args = tc.args
			}
			r := fieldflow(t, nil, args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", r.code, r.stderr, tc.code, tc.stderr)
			}
			// The error is the last line: one line naming the file, the line and the rule.
			if last := lastLine(r.stderr); !strings.HasPrefix(last, "fieldflow: ") || !strings.Contains(last, tc.stderr) {
				t.Errorf("last line of stderr = %q", last)
			}
		})
	}
	// Again: still ExitPermanent, from the report, without reading the file again.
	if r := fieldflow(t, nil, "process", "--key", bad, "--store", dir); r.code != pipeline.ExitPermanent || !strings.Contains(r.stderr, "is quarantined: 1 of 2 lines invalid") {
		t.Errorf("second run of an invalid file: exit %d %s", r.code, r.stderr)
	}
	var quarantined map[string]any
	readJSON(t, resultFile, &quarantined)
	if quarantined["state"] != "quarantined" {
		t.Errorf("result of an invalid file = %v", quarantined)
	}

	if r := fieldflow(t, nil, "process", "--store", dir, "--key", field, "--result-file", resultFile); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var res struct {
		Key       string  `json:"key"`
		State     string  `json:"state"`
		OutputKey string  `json:"output_key"`
		Records   int64   `json:"records"`
		Bytes     int64   `json:"bytes"`
		Seconds   float64 `json:"seconds"`
		Done      bool    `json:"already_done"`
	}
	readJSON(t, resultFile, &res)
	if res.Key != field || res.State != "done" || res.Records != 1 || res.Bytes != int64(len(rec(box))) || res.Seconds <= 0 ||
		res.OutputKey != "fields/output/"+box+"/fields_2025-06-02.jsonl" || res.Done {
		t.Errorf("result = %+v", res)
	}
	// Again: already done, still exit 0.
	if r := fieldflow(t, nil, "process", "--store", dir, "--key", field, "--result-file", resultFile); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	readJSON(t, resultFile, &res)
	if !res.Done {
		t.Errorf("second run not reported as already done: %+v", res)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// lastTwo returns the last two lines of s, the second to last first.
func lastTwo(s string) (string, string) {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) < 2 {
		return "", lines[len(lines)-1]
	}
	return lines[len(lines)-2], lines[len(lines)-1]
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}

func TestCheckReadyStatus(t *testing.T) {
	dir := t.TempDir()
	boxIn := "boxes/input/bounding_box_" + box + ".jsonl"
	field := "fields/input/" + box + "/fields_2025-06-02.jsonl"
	write(t, dir, boxIn, rec(box))
	write(t, dir, field, rec(box))

	r := fieldflow(t, nil, "check", "--store", dir, "--key", field)
	var v map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || r.code != 0 {
		t.Fatalf("check: exit %d %q: %v", r.code, r.stdout, err)
	}
	if v["key"] != field || v["state"] != "waiting" || v["ready"] != false || !strings.Contains(v["reason"].(string), "not processed yet") {
		t.Errorf("check = %v", v)
	}

	r = fieldflow(t, nil, "ready", "--store", dir)
	if strings.TrimSpace(r.stdout) != `["`+boxIn+`"]` {
		t.Errorf("ready = %q", r.stdout)
	}
	fieldflow(t, nil, "process", "--store", dir, "--key", boxIn)
	r = fieldflow(t, nil, "ready", "--store", dir, "--after", boxIn)
	if strings.TrimSpace(r.stdout) != `["`+field+`"]` {
		t.Errorf("ready --after = %q", r.stdout)
	}

	r = fieldflow(t, nil, "status", "--store", dir, "--json")
	var all []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0]["key"] != boxIn || all[0]["state"] != "done" || all[1]["state"] != "ready" {
		t.Errorf("status --json = %v", all)
	}
	r = fieldflow(t, nil, "status", "--store", dir)
	if !strings.Contains(r.stdout, "STATE") || !strings.Contains(r.stdout, "2 inputs: 1 done, 1 ready") {
		t.Errorf("status table:\n%s", r.stdout)
	}
}

// TestDemo runs the README's demo steps on a folder and on MinIO.
func TestDemo(t *testing.T) {
	for _, backend := range []string{"local", "minio"} {
		t.Run(backend, func(t *testing.T) {
			store, env := t.TempDir(), []string(nil)
			if backend == "minio" {
				srv := s3test.Require(t)
				store, env = "s3://"+srv.Bucket(t).Bucket(), srv.Env()
			}
			if r := fieldflow(t, env, "sample", "--store", store, "--faults"); r.code != 0 {
				t.Fatalf("sample: %s", r.stderr)
			}
			r := fieldflow(t, env, "run", "--engine", "direct", "--store", store, "--once")
			if r.code != 0 {
				t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
			}
			summary, engine := lastTwo(r.stdout)
			for _, want := range []string{"done", "waiting", "1 quarantined", "out-of-range"} {
				if !strings.Contains(summary, want) {
					t.Errorf("summary %q lacks %q", summary, want)
				}
			}
			// The engine's line comes last, after the status table.
			if !regexp.MustCompile(`^direct engine: \d+ processed, 1 quarantined, 0 failed in \S+ \(one process: no workflows, no pods\)$`).MatchString(engine) {
				t.Errorf("last line %q: want the direct engine's line", engine)
			}
			if !strings.Contains(r.stderr, "msg=progress") {
				t.Errorf("no progress in the logs:\n%s", r.stderr)
			}
			// A second run finds nothing to do and changes nothing.
			again := fieldflow(t, env, "run", "--engine", "direct", "--store", store, "--once")
			summary2, engine2 := lastTwo(again.stdout)
			if again.code != 0 || summary2 != summary {
				t.Errorf("second run: %q, want %q", summary2, summary)
			}
			if !strings.HasPrefix(engine2, "direct engine: 0 processed, 0 quarantined, 0 failed in ") {
				t.Errorf("second run's engine line %q: want nothing processed", engine2)
			}
		})
	}
}

// TestProcessMemoryIsFlat processes a 96 MiB file and checks the peak RSS
// of the process stays far below the file's size.
func TestProcessMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	key := "boxes/input/bounding_box_" + box + ".jsonl"
	p := filepath.Join(dir, key)
	os.MkdirAll(filepath.Dir(p), 0o755)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(3, 4))
	var n int64
	for n < 96<<20 {
		cw := &countWriter{w: w}
		sample.AppendBox(cw, rng, box)
		n += cw.n
	}
	w.Flush()
	f.Close()
	r := fieldflow(t, nil, "process", "--store", dir, "--key", key)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r.maxRSSKiB == 0 || r.maxRSSKiB > 64<<10 {
		t.Errorf("peak RSS %d KiB processing %d MiB, want under 64 MiB", r.maxRSSKiB, n>>20)
	}
	t.Logf("peak RSS %d KiB for %d MiB", r.maxRSSKiB, n>>20)
}

type countWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// TestExitCode maps what a subcommand returns, or how it panics, to the
// exit code and what stderr says.
func TestExitCode(t *testing.T) {
	invalid := errors.New("bad line")
	for _, tc := range []struct {
		name   string
		run    func() error
		code   int
		stderr []string // each must appear
	}{
		{"ok", func() error { return nil }, pipeline.ExitOK, nil},
		{"retryable", func() error { return fmt.Errorf("list: %w", io.ErrUnexpectedEOF) }, pipeline.ExitRetry, []string{"fieldflow: list: unexpected EOF"}},
		{"permanent", func() error { return fmt.Errorf("key: %w", processor.ErrPermanent) }, pipeline.ExitPermanent, []string{"fieldflow: key: permanent"}},
		{"usage", func() error { return usageError("--key is required") }, pipeline.ExitPermanent, []string{"fieldflow: --key is required"}},
		{"panic", func() error { crashForTest(invalid); return nil }, pipeline.ExitCrash, []string{"fieldflow: panic: bad line", "goroutine ", "fieldflow.crashForTest("}},
		{"runtime error", func() error { var m map[string]int; m["x"]++; return nil }, pipeline.ExitCrash, []string{"panic: assignment to entry in nil map", "fieldflow.TestExitCode"}},
		{"panic(nil)", func() error { panic(nil) }, pipeline.ExitCrash, []string{"panic called with nil argument"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			if got := exitCode(&stderr, recovered(tc.run)); got != tc.code {
				t.Errorf("exit code %d, want %d", got, tc.code)
			}
			if tc.stderr == nil && stderr.Len() > 0 {
				t.Errorf("stderr %q, want nothing", stderr.String())
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

//go:noinline
func crashForTest(v any) { panic(v) }

// TestReadyPage lists a page as the reconcile and release steps do: in run
// order, at most --limit keys and no more than pipeline.PageBytes of JSON.
func TestReadyPage(t *testing.T) {
	dir := t.TempDir()
	done, waiting := strings.Repeat("d", 32), strings.Repeat("0", 32)
	write(t, dir, "boxes/input/bounding_box_"+done+".jsonl", rec(done))
	if r := fieldflow(t, nil, "process", "--store", dir, "--key", "boxes/input/bounding_box_"+done+".jsonl"); r.code != pipeline.ExitOK {
		t.Fatalf("process: %s", r.stderr)
	}
	boxKey := "boxes/input/bounding_box_" + waiting + ".jsonl"
	write(t, dir, boxKey, rec(waiting))
	// 600 fields of the processed box, long names (a disk allows 255
	// bytes): 600 keys are about 170 kB of JSON, more than a page holds.
	var fields []string
	for i := range 600 {
		key := fmt.Sprintf("fields/input/%s/fields_2025-06-02_%s%03d.jsonl", done, strings.Repeat("x", 220), i)
		write(t, dir, key, rec(done))
		fields = append(fields, key)
	}
	late := "fields/input/" + done + "/fields_2025-06-01_a.jsonl" // out of range: not ready
	write(t, dir, late, rec(done))

	for _, tc := range []struct {
		name string
		args []string
		want []string // the page, or nil to check the byte bound
	}{
		{"all", nil, append([]string{boxKey}, fields...)},
		{"limit", []string{"--limit", "3"}, []string{boxKey, fields[0], fields[1]}},
		{"asset", []string{"--limit", "2", "--asset", "field"}, fields[:2]},
		{"bytes", []string{"--limit", "1000"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fieldflow(t, nil, append([]string{"ready", "--store", dir}, tc.args...)...)
			if r.code != pipeline.ExitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var page []string
			if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && !slices.Equal(page, tc.want) {
				t.Errorf("page of %d keys, want %d: %.200q", len(page), len(tc.want), page)
			}
			if tc.want == nil {
				n := len(strings.TrimSpace(r.stdout))
				if n > pipeline.PageBytes || len(page) < 2 || !slices.Equal(page, append([]string{boxKey}, fields[:len(page)-1]...)) {
					t.Errorf("%d keys in %d bytes: want the front of the run order in at most %d", len(page), n, pipeline.PageBytes)
				}
			}
		})
	}
	if r := fieldflow(t, nil, "ready", "--store", dir, "--limit", "-1"); r.code != pipeline.ExitPermanent {
		t.Errorf("--limit -1: exit %d", r.code)
	}
}
