package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/fieldflow/fieldflow/processor/store"
	localstore "github.com/fieldflow/fieldflow/processor/store/local"
	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"
)

// A faultBackend is where a fault test's files live, seen from the test
// (st) and from the fieldflow processes it starts (storeURL, env).
type faultBackend struct {
	name     string
	st       store.Store
	storeURL string
	env      []string
}

// faultBackends runs a fault test on a folder and on a real MinIO bucket.
func faultBackends(t *testing.T, test func(t *testing.T, b faultBackend)) {
	t.Run("folder", func(t *testing.T) {
		dir := t.TempDir()
		st, err := localstore.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		test(t, faultBackend{name: "folder", st: st, storeURL: dir})
	})
	t.Run("minio", func(t *testing.T) {
		srv := s3test.Require(t)
		bucket := srv.Bucket(t)
		test(t, faultBackend{name: "minio", st: bucket, storeURL: "s3://" + bucket.Bucket(), env: srv.Env()})
	})
}

// processed is what fieldflow writes for content made of rec lines.
func processed(content string) string {
	return strings.ReplaceAll(content, `"is_processed": false`, `"is_processed": true`)
}

// boxContent is a box file of n records whose first record carries the
// marker v, so that every version's output differs.
func boxContent(n, v int) string {
	first := strings.Replace(rec(box), `"coordinates_x_min": 0`, fmt.Sprintf(`"coordinates_x_min": %d`, -v), 1)
	first = strings.Replace(first, `"coordinates_x_max": 2`, fmt.Sprintf(`"coordinates_x_max": %d`, 2-v), 1)
	return first + strings.Repeat(rec(box), n-1)
}

func putString(t *testing.T, st store.Store, key, content string) {
	t.Helper()
	if err := st.Put(context.Background(), key, strings.NewReader(content), nil); err != nil {
		t.Fatal(err)
	}
}

// readString returns an object's content, or ok false when it is absent.
func readString(t *testing.T, st store.Store, key string) (string, bool) {
	t.Helper()
	rc, _, err := st.Open(context.Background(), key)
	if err != nil {
		return "", false
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return string(b), true
}

// startKilled starts fieldflow and SIGKILLs it after delay, or once the
// process has ended; it returns whether the kill landed.
func startKilled(t *testing.T, env []string, delay time.Duration, args ...string) bool {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return false
	case <-time.After(delay):
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	return cmd.ProcessState.ExitCode() == -1
}

// TestKilledAtRandom kills `fieldflow process` with SIGKILL at random
// points, 20 times, each time after a new version of the box was uploaded:
// no kill may leave a partial output, and the next run makes the last
// version's output.
func TestKilledAtRandom(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	faultBackends(t, func(t *testing.T, b faultBackend) {
		boxIn := "boxes/input/bounding_box_" + box + ".jsonl"
		boxOut := "boxes/output/bounding_box_" + box + ".jsonl"
		const records = 40000 // about 6 MB: processing takes a while
		env := append(b.env, "RETRY_BACKOFF=1ms", "RETRY_MAX_BACKOFF=1ms")
		process := []string{"process", "--store", b.storeURL, "--key", boxIn}
		putString(t, b.st, boxIn, boxContent(records, 0))
		start := time.Now()
		if r := fieldflow(t, env, process...); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		full := time.Since(start)
		allowed := map[string]bool{processed(boxContent(records, 0)): true}
		kills, runs := 0, 0
		for v := 1; kills < 20 && v < 60; v++ {
			runs++
			content := boxContent(records, v)
			putString(t, b.st, boxIn, content)
			allowed[processed(content)] = true
			if startKilled(t, env, time.Duration(rng.Int64N(int64(full))), process...) {
				kills++
			}
			if out, ok := readString(t, b.st, boxOut); ok && !allowed[out] {
				t.Fatalf("after kill %d (version %d) the output is partial: %d bytes", kills, v, len(out))
			}
			assertNothingUnder(t, b.st, "quarantine/")
		}
		if kills < 20 {
			t.Fatalf("only %d of the runs were killed before they ended", kills)
		}
		last := boxContent(records, 60)
		putString(t, b.st, boxIn, last)
		if r := fieldflow(t, env, "run", "--engine", "direct", "--once", "--store", b.storeURL); r.code != 0 {
			t.Fatalf("run after the kills: exit %d: %s", r.code, r.stderr)
		}
		if out, _ := readString(t, b.st, boxOut); out != processed(last) {
			t.Errorf("the output is not the last version's (%d bytes)", len(out))
		}
		assertState(t, b, env, boxIn, "done")
		assertNoLeftovers(t, b)
		t.Logf("%s: %d kills in %d runs; a whole run takes %s; 0 partial outputs", b.name, kills, runs, full.Round(time.Millisecond))
	})
}

// TestKilledUntilItGivesUp kills every attempt of one version right after
// it is counted: the sixth run gives up, and status says so.
func TestKilledUntilItGivesUp(t *testing.T) {
	faultBackends(t, func(t *testing.T, b faultBackend) {
		boxIn := "boxes/input/bounding_box_" + box + ".jsonl"
		env := append(b.env, "RETRY_BACKOFF=1ms", "RETRY_MAX_BACKOFF=1ms")
		putString(t, b.st, boxIn, boxContent(200000, 1)) // about 30 MB: a run outlives the kill
		note := "failed/" + boxIn + ".error.txt"
		for attempt := 1; attempt <= 5; attempt++ {
			cmd := exec.Command(bin, "process", "--store", b.storeURL, "--key", boxIn)
			cmd.Env = append(os.Environ(), env...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("attempt: %d\n", attempt)
			deadline := time.Now().Add(30 * time.Second)
			for {
				if n, _ := readString(t, b.st, note); strings.Contains(n, want) && strings.Contains(n, "outcome: running") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("attempt %d was never recorded", attempt)
				}
				time.Sleep(2 * time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			if cmd.ProcessState.ExitCode() != -1 {
				t.Fatalf("attempt %d ended by itself before the kill", attempt)
			}
		}
		r := fieldflow(t, env, "process", "--store", b.storeURL, "--key", boxIn)
		if r.code != 3 || !strings.Contains(r.stderr, "gave up after 5 attempts") {
			t.Fatalf("sixth run: exit %d, %s", r.code, r.stderr)
		}
		assertState(t, b, env, boxIn, "failed")
		assertNothingUnder(t, b.st, "boxes/output/")
		if r := fieldflow(t, env, "retry", "--store", b.storeURL, "--key", boxIn); r.code != 0 || !strings.Contains(r.stdout, `"state":"ready"`) {
			t.Fatalf("retry: exit %d, %s %s", r.code, r.stdout, r.stderr)
		}
		if r := fieldflow(t, env, "process", "--store", b.storeURL, "--key", boxIn); r.code != 0 {
			t.Fatalf("after retry: exit %d, %s", r.code, r.stderr)
		}
		assertState(t, b, env, boxIn, "done")
		assertNoLeftovers(t, b)
	})
}

func assertState(t *testing.T, b faultBackend, env []string, key, want string) {
	t.Helper()
	r := fieldflow(t, env, "check", "--store", b.storeURL, "--key", key)
	if r.code != 0 || !strings.Contains(r.stdout, `"state":"`+want+`"`) {
		t.Errorf("%s: exit %d, %s%s; want state %s", key, r.code, r.stdout, r.stderr, want)
	}
}

func assertNothingUnder(t *testing.T, st store.Store, prefix string) {
	t.Helper()
	for info, err := range st.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("unexpected %s", info.Key)
	}
}

// assertNoLeftovers checks that no temporary file (folder) or incomplete
// multipart upload (MinIO) is left once the last run has written.
func assertNoLeftovers(t *testing.T, b faultBackend) {
	t.Helper()
	switch st := b.st.(type) {
	case *localstore.Store:
		var left []string
		walkFiles(t, st.Root(), func(name string) {
			if strings.HasPrefix(name[strings.LastIndex(name, "/")+1:], ".fieldflow-") {
				left = append(left, name)
			}
		})
		if len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	case *s3store.Store:
		bucket := st.Bucket()
		out, err := st.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &bucket})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.Uploads {
			t.Errorf("incomplete multipart upload of %s left", aws.ToString(u.Key))
		}
	}
}

func walkFiles(t *testing.T, root string, f func(path string)) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			f(p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTerminatedMidUpload sends SIGTERM to `fieldflow process` while its
// output's multipart upload is open, as Kubernetes does to a pod it stops:
// the upload is aborted on the way out (nothing left to sweep), the attempt
// is recorded as failed, and the file runs again.
func TestTerminatedMidUpload(t *testing.T) {
	srv := s3test.Require(t)
	bucket := srv.Bucket(t)
	store := "s3://" + bucket.Bucket()
	env := append(srv.Env(), "RETRY_BACKOFF=1ms", "RETRY_MAX_BACKOFF=1ms")
	boxIn := "boxes/input/bounding_box_" + box + ".jsonl"
	content := boxContent(300000, 3) // about 45 MB: several 8 MiB parts
	putString(t, bucket, boxIn, content)
	cmd := exec.Command(bin, "process", "--store", store, "--key", boxIn)
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	name := bucket.Bucket()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := bucket.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &name})
		if err == nil && len(out.Uploads) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no multipart upload was ever open")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d after SIGTERM, want 1 (retryable)", code)
	}
	out, err := bucket.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &name})
	if err != nil || len(out.Uploads) != 0 {
		t.Fatalf("%d incomplete uploads after SIGTERM (%v), want 0", len(out.Uploads), err)
	}
	assertNothingUnder(t, bucket, "boxes/output/")
	if n, _ := readString(t, bucket, "failed/"+boxIn+".error.txt"); !strings.Contains(n, "outcome: failed") {
		t.Errorf("failure note after SIGTERM:\n%s", n)
	}
	if r := fieldflow(t, env, "process", "--store", store, "--key", boxIn); r.code != 0 {
		t.Fatalf("next attempt: exit %d: %s", r.code, r.stderr)
	}
	if got, _ := readString(t, bucket, "boxes/output/bounding_box_"+box+".jsonl"); got != processed(content) {
		t.Errorf("output after SIGTERM and a new attempt is not whole (%d bytes)", len(got))
	}
}
