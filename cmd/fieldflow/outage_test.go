package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"
)

// proxied is the environment of a fieldflow process that reaches MinIO
// through proxy, with short bounds on stalls and a quick retry.
func proxied(srv *s3test.Server, proxy *s3test.Proxy) []string {
	return append(srv.Env(),
		"AWS_ENDPOINT_URL="+proxy.Endpoint,
		"FIELDFLOW_S3_STALL_TIMEOUT="+s3test.StallTimeout.String(),
		"FIELDFLOW_S3_CALL_TIMEOUT="+s3test.CallTimeout.String(),
		"RETRY_BACKOFF=10ms", "RETRY_MAX_BACKOFF=10ms")
}

// TestCutAndStalledReads serves the input through a proxy that ends the
// body early, on a line break or mid-line, or stops sending it: each time
// `process` exits 1 within the stall bound, writes nothing and quarantines
// nothing, and the next attempt through a healthy connection processes the
// file.
func TestCutAndStalledReads(t *testing.T) {
	srv := s3test.Require(t)
	content := []byte(boxContent(40, 7))
	for _, tc := range []struct {
		name  string
		fault func(*s3test.Proxy)
	}{
		{"cut on a line break", func(p *s3test.Proxy) { p.CutBody(s3test.LineEnd(content, 19)) }},
		{"cut mid-line", func(p *s3test.Proxy) { p.CutBody(s3test.MidLine(content, 20)) }},
		{"stalled", func(p *s3test.Proxy) { p.StallBody(s3test.LineEnd(content, 19)) }},
		{"a flipped byte", func(p *s3test.Proxy) { p.FlipBody(s3test.MidLine(content, 20)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket := srv.Bucket(t)
			store := "s3://" + bucket.Bucket()
			boxIn := "boxes/input/bounding_box_" + box + ".jsonl"
			putString(t, bucket, boxIn, string(content))
			proxy := srv.Proxy(t)
			env := proxied(srv, proxy)
			tc.fault(proxy)
			start := time.Now()
			r := fieldflow(t, env, "process", "--store", store, "--key", boxIn)
			took := time.Since(start)
			if r.code != 1 || took > s3test.StallTimeout+s3test.CallTimeout+5*time.Second {
				t.Fatalf("exit %d after %s (want 1 within the bounds): %s", r.code, took, r.stderr)
			}
			assertNothingUnder(t, bucket, "boxes/output/")
			assertNothingUnder(t, bucket, "quarantine/")
			proxy.Pass()
			time.Sleep(20 * time.Millisecond) // the backoff
			if r := fieldflow(t, env, "process", "--store", store, "--key", boxIn); r.code != 0 {
				t.Fatalf("next attempt: exit %d: %s", r.code, r.stderr)
			}
			if out, _ := readString(t, bucket, "boxes/output/bounding_box_"+box+".jsonl"); out != processed(string(content)) {
				t.Errorf("output after the fault is not the whole file (%d bytes)", len(out))
			}
			t.Logf("%s: exit 1 after %s, nothing written; the next attempt processed it", tc.name, took.Round(time.Millisecond))
		})
	}
}

// TestMinioRestartsDuringRun stops MinIO in the middle of `run --engine
// direct --once` and starts it again a few seconds later: the run rides
// the outage out and every file ends in the state the rules give.
func TestMinioRestartsDuringRun(t *testing.T) {
	srv := s3test.Require(t)
	bucket := srv.Bucket(t)
	store := "s3://" + bucket.Bucket()
	env := append(srv.Env(), "FIELDFLOW_S3_STALL_TIMEOUT=2s", "FIELDFLOW_S3_CALL_TIMEOUT=5s",
		"RETRY_BACKOFF=500ms", "RETRY_MAX_BACKOFF=4s", "RETRY_ATTEMPTS=8")
	folder := t.TempDir()
	if r := fieldflow(t, nil, "sample", "--store", folder, "--faults", "--boxes", "12"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := fieldflow(t, env, "sample", "--store", store, "--faults", "--boxes", "12"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	want := statesOf(t, nil, folder, true)
	cmd := exec.Command(bin, "run", "--engine", "direct", "--once", "--parallel", "2", "--store", store)
	cmd.Env = append(cmd.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	srv.Stop()
	time.Sleep(3 * time.Second)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	got := statesOf(t, env, store, false)
	for key, state := range want {
		if got[key] != state {
			t.Errorf("%s: %s, want %s", key, got[key], state)
		}
	}
	if err != nil && t.Failed() {
		t.Logf("run: %v\n%s", err, lastLines(stderr.String(), 20))
	}
	t.Logf("%d files after a MinIO restart mid-run: all in the state the rules give; %d attempts failed during the outage", len(want), strings.Count(stderr.String(), "attempt failed"))
}

// statesOf runs the direct engine on a copy when run is set, then returns
// every input's state.
func statesOf(t *testing.T, env []string, store string, run bool) map[string]string {
	t.Helper()
	if run {
		fieldflow(t, env, "run", "--engine", "direct", "--once", "--store", store)
	}
	r := fieldflow(t, env, "status", "--store", store, "--json")
	var vs []struct{ Key, State string }
	if err := json.Unmarshal([]byte(r.stdout), &vs); err != nil {
		t.Fatalf("status: %v: %s %s", err, r.stdout, r.stderr)
	}
	out := map[string]string{}
	for _, v := range vs {
		out[v.Key] = v.State
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
