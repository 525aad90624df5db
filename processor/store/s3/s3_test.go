package s3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/fieldflow/fieldflow/processor/store"
	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"
	"github.com/fieldflow/fieldflow/processor/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	s3test.Stop()
	os.Exit(code)
}

// TestStore runs the store suite on a real MinIO: more than one page of
// keys, and an object streamed in many parts.
func TestStore(t *testing.T) {
	srv := s3test.Require(t)
	storetest.Run(t, func(t *testing.T) store.Store { return srv.Bucket(t) },
		storetest.Options{ManyKeys: 1100, LargeSize: 200 << 20})
}

// TestTimeoutsFromEnv checks that New reads its timeouts from the
// environment and names the variable of a bad value.
func TestTimeoutsFromEnv(t *testing.T) {
	for _, tc := range []struct {
		stall, call string
		want        string // in the error; "" for none
	}{
		{"", "", ""},
		{"45s", "2m", ""},
		{"soon", "", "FIELDFLOW_S3_STALL_TIMEOUT"},
		{"", "10", "FIELDFLOW_S3_CALL_TIMEOUT"},
		{"-1s", "", "FIELDFLOW_S3_STALL_TIMEOUT"},
		{"", "0s", "FIELDFLOW_S3_CALL_TIMEOUT"},
	} {
		t.Setenv("FIELDFLOW_S3_STALL_TIMEOUT", tc.stall)
		t.Setenv("FIELDFLOW_S3_CALL_TIMEOUT", tc.call)
		_, err := s3store.New(context.Background(), "b")
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("stall %q call %q: err = %v, want %q", tc.stall, tc.call, err, tc.want)
		}
	}
}

// uploads is how many multipart uploads the bucket holds.
func uploads(t *testing.T, st *s3store.Store) int {
	t.Helper()
	up, err := st.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(st.Bucket())})
	if err != nil {
		t.Fatal(err)
	}
	return len(up.Uploads)
}

// objects lists the bucket's keys.
func objects(t *testing.T, st store.Store) []string {
	t.Helper()
	var keys []string
	for info, err := range st.List(context.Background(), "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	return keys
}

// TestFailedUploadLeavesNoParts checks that an upload broken after several
// parts is aborted: no object, and no multipart upload left to bill for.
func TestFailedUploadLeavesNoParts(t *testing.T) {
	st := s3test.Require(t).Bucket(t)
	err := st.Put(context.Background(), "out/big", io.MultiReader(io.LimitReader(zeros{}, 3*s3store.PartSize), failing{}), nil)
	if err == nil {
		t.Fatal("put of a failing reader succeeded")
	}
	if n := uploads(t, st); n != 0 {
		t.Errorf("%d multipart uploads left behind", n)
	}
	if keys := objects(t, st); len(keys) != 0 {
		t.Errorf("objects left behind: %v", keys)
	}
}

// TestCancelledUploadLeavesNoParts cancels a Put once three parts are
// uploaded, as SIGTERM in a pod does: the upload must still be aborted,
// with a context of its own.
func TestCancelledUploadLeavesNoParts(t *testing.T) {
	st := s3test.Require(t).Bucket(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body := io.MultiReader(io.LimitReader(zeros{}, 3*s3store.PartSize), blocking{ctx})
	done := make(chan error, 1)
	go func() { done <- st.Put(ctx, "out/big", body, store.Metadata{"k": "v"}) }()

	// Wait for the parts to be on the server before cancelling.
	deadline := time.Now().Add(60 * time.Second)
	for parts(t, st) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the upload's parts never appeared")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled put: err = %v, want context.Canceled", err)
	}
	if n := uploads(t, st); n != 0 {
		t.Errorf("%d multipart uploads left behind", n)
	}
	if keys := objects(t, st); len(keys) != 0 {
		t.Errorf("objects left behind: %v", keys)
	}
}

// parts is how many parts the bucket's multipart uploads hold.
func parts(t *testing.T, st *s3store.Store) int {
	t.Helper()
	ctx := context.Background()
	up, err := st.Client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(st.Bucket())})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, u := range up.Uploads {
		p, err := st.Client().ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(st.Bucket()), Key: u.Key, UploadId: u.UploadId})
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Parts)
	}
	return n
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("processing failed") }

// blocking is a reader that waits for its context to end.
type blocking struct{ ctx context.Context }

func (b blocking) Read([]byte) (int, error) { <-b.ctx.Done(); return 0, b.ctx.Err() }

// jsonLines is n lines of JSON, as an input file holds.
func jsonLines(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"box_id":"%032x","coordinates_x_min":%d,"irrigation_array":[[1,0,1]],"is_processed":false}`+"\n", i, i)
	}
	return b.Bytes()
}

// faulty returns a bucket holding key with content, a store on it through
// a new proxy, and the proxy.
func faulty(t *testing.T, key string, content []byte) (*s3store.Store, *s3store.Store, *s3test.Proxy) {
	t.Helper()
	srv := s3test.Require(t)
	direct := srv.Bucket(t)
	if err := direct.Put(context.Background(), key, bytes.NewReader(content), nil); err != nil {
		t.Fatal(err)
	}
	p := srv.Proxy(t)
	return direct, p.Store(t, direct.Bucket()), p
}

// readAll opens key and reads it to the end.
func readAll(t *testing.T, st store.Store, key string) ([]byte, store.Info, error) {
	t.Helper()
	rc, info, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return b, info, err
}

// TestCutBody checks that a GET cut on a line break, or in the middle of a
// line, is an incomplete read, never a shorter file ending in io.EOF.
func TestCutBody(t *testing.T) {
	content := jsonLines(50)
	_, st, p := faulty(t, "in.jsonl", content)

	got, _, err := readAll(t, st, "in.jsonl")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("through the passing proxy: %d bytes, %v", len(got), err)
	}
	for _, tc := range []struct {
		name string
		n    int64
	}{
		{"on a line break", s3test.LineEnd(content, 20)},
		{"mid-line", s3test.MidLine(content, 20)},
		{"before the body", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.CutBody(tc.n)
			got, _, err := readAll(t, st, "in.jsonl")
			if !errors.Is(err, store.ErrIncomplete) {
				t.Errorf("read cut after %d bytes: err = %v, want ErrIncomplete", tc.n, err)
			}
			if !bytes.Equal(got, content[:tc.n]) {
				t.Errorf("read %d bytes, want the %d before the cut", len(got), tc.n)
			}
		})
	}
}

// stalled runs call, which a fault makes stall, and checks that it failed
// after about StallTimeout: no less (it failed for the stall, not something
// else) and less than twice (the SDK did not retry it), plus extra for the
// work around it. A call still running long after fails the test rather
// than hang the suite.
func stalled(t *testing.T, what string, extra time.Duration, call func() error) error {
	t.Helper()
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- call() }()
	var err error
	select {
	case err = <-errc:
	case <-time.After(10*s3test.StallTimeout + extra):
		t.Fatalf("%s still running after %s", what, time.Since(start))
	}
	took := time.Since(start)
	t.Logf("%s failed after %s (stall timeout %s)", what, took.Round(time.Millisecond), s3test.StallTimeout)
	if took < s3test.StallTimeout*9/10 || took >= 2*s3test.StallTimeout+extra {
		t.Errorf("%s failed after %s, want about the stall timeout %s", what, took, s3test.StallTimeout)
	}
	if err == nil {
		t.Errorf("%s succeeded", what)
	}
	return err
}

// TestStallBody checks that a body that stops coming fails the read within
// the stall timeout, as an incomplete read.
func TestStallBody(t *testing.T) {
	content := jsonLines(50)
	_, st, p := faulty(t, "in.jsonl", content)
	for _, n := range []int64{0, s3test.MidLine(content, 10)} {
		p.StallBody(n)
		rc, _, err := st.Open(context.Background(), "in.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		err = stalled(t, fmt.Sprintf("read stalled after %d bytes", n), 0, func() (err error) {
			got, err = io.ReadAll(rc)
			return err
		})
		rc.Close()
		if !errors.Is(err, store.ErrIncomplete) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("stalled read: err = %v, want ErrIncomplete and a deadline", err)
		}
		if int64(len(got)) != n {
			t.Errorf("read %d bytes, want the %d before the stall", len(got), n)
		}
	}
}

// TestStallCalls checks that Stat, List, Delete and Open against a server
// that stops answering fail within the stall timeout, each in one attempt.
func TestStallCalls(t *testing.T) {
	_, st, p := faulty(t, "in.jsonl", jsonLines(50))
	ctx := context.Background()
	list := func() error {
		for _, err := range st.List(ctx, "") {
			if err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"stat", func() error { _, err := st.Stat(ctx, "in.jsonl"); return err }},
		{"list", list},
		{"delete", func() error { return st.Delete(ctx, "in.jsonl") }},
		{"open", func() error { _, _, err := st.Open(ctx, "in.jsonl"); return err }},
	} {
		p.StallHead()
		before := p.Connections()
		stalled(t, c.name+" with no response", 0, c.call)
		if n := p.Connections() - before; n != 1 {
			t.Errorf("%s made %d requests, want 1: a stall is not retried", c.name, n)
		}
	}
	p.StallBody(100)
	stalled(t, "list with a stalled body", 0, list)
}

// TestSlowBody checks the two bounds of a response that trickles: a call
// without a streamed body (a List page) fails at CallTimeout; an object's
// body is read to the end however long it takes, as long as bytes move.
func TestSlowBody(t *testing.T) {
	content := []byte("{\"a\":1}\n") // 8 bytes: 4 s at one byte every half second
	_, st, p := faulty(t, "small.jsonl", content)
	interval := s3test.StallTimeout / 2
	p.SlowBody(interval)

	start := time.Now()
	var err error
	for _, err = range st.List(context.Background(), "") {
		if err != nil {
			break
		}
	}
	took := time.Since(start)
	t.Logf("list with a trickling body failed after %s (call timeout %s)", took.Round(time.Millisecond), s3test.CallTimeout)
	if !errors.Is(err, context.DeadlineExceeded) || took < s3test.CallTimeout || took > s3test.CallTimeout+s3test.StallTimeout {
		t.Errorf("list with a trickling body: %v after %s, want the call deadline %s", err, took, s3test.CallTimeout)
	}

	start = time.Now()
	got, _, err := readAll(t, st, "small.jsonl")
	took = time.Since(start)
	t.Logf("read of %d bytes at one every %s took %s", len(content), interval, took.Round(time.Millisecond))
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("trickling read: %q, %v", got, err)
	}
	if took < s3test.CallTimeout {
		t.Errorf("trickling read took %s, less than the call timeout: proves nothing", took)
	}
}

// TestStallUpload checks that a server that stops reading an upload fails
// Put within the stall timeout (and the abort), leaving nothing.
func TestStallUpload(t *testing.T) {
	direct, st, p := faulty(t, "kept", []byte("old"))
	p.StallRequest(1 << 20)
	// Extra: reading the parts, creating the upload, aborting it.
	err := stalled(t, "put stalled after 1 MiB of a part", s3test.CallTimeout, func() error {
		return st.Put(context.Background(), "out/big", io.LimitReader(zeros{}, 3*s3store.PartSize), nil)
	})
	if !strings.Contains(fmt.Sprint(err), "stalled") {
		t.Errorf("stalled put: err = %v, want a stall", err)
	}
	// The sweep of a dead writer's uploads, Create, the parts in flight
	// (Concurrency), the abort: no retry.
	if n := p.Connections(); n > 3+s3store.Concurrency {
		t.Errorf("stalled put made %d requests, want at most %d: a stall is not retried", n, 3+s3store.Concurrency)
	}
	if n := uploads(t, direct); n != 0 {
		t.Errorf("%d multipart uploads left behind", n)
	}
	if keys := objects(t, direct); len(keys) != 1 || keys[0] != "kept" {
		t.Errorf("bucket holds %v, want only kept", keys)
	}
}

// TestChecksums checks what a read is verified against (Info.Checksum) and
// that a flipped byte is caught: the CRC32 the SDK sends with a PUT, the
// ETag's MD5 of an object that has no checksum, the full-object CRC32 Put
// asks for in a multipart upload; and nothing but the size for a multipart
// object with a COMPOSITE checksum, as other tools upload.
func TestChecksums(t *testing.T) {
	content := jsonLines(50)
	direct, st, p := faulty(t, "crc", content)
	ctx := context.Background()
	// An upload without x-amz-checksum, as older tools make.
	_, err := direct.Client().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(direct.Bucket()), Key: aws.String("md5"), Body: bytes.NewReader(content),
	}, func(o *s3.Options) { o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired })
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat(content, 3*s3store.PartSize/len(content)+1)
	if err := direct.Put(ctx, "multipart", bytes.NewReader(big), nil); err != nil {
		t.Fatal(err)
	}
	// A multipart upload as other tools make it: COMPOSITE checksum.
	_, err = manager.NewUploader(direct.Client(), func(u *manager.Uploader) { u.PartSize = manager.MinUploadPartSize }).
		Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(direct.Bucket()), Key: aws.String("composite"), Body: bytes.NewReader(big)})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		key, want string
		flip      string // in the error of a read with a flipped byte; "" when not caught
	}{
		{"crc", fmt.Sprintf("crc32:%08x", crc32.ChecksumIEEE(content)), "checksum"},
		{"md5", "md5:", "checksum mismatch: md5"},
		{"multipart", fmt.Sprintf("crc32:%08x", crc32.ChecksumIEEE(big)), "checksum"},
		{"composite", "", ""},
	} {
		t.Run(tc.key, func(t *testing.T) {
			p.Pass()
			info, err := st.Stat(ctx, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" && info.Checksum != "" || !strings.HasPrefix(info.Checksum, tc.want) {
				t.Errorf("stat checksum = %q, want %q", info.Checksum, tc.want)
			}
			if tc.key == "md5" && info.Checksum != "md5:"+strings.Trim(info.Version, `"`) {
				t.Errorf("md5 checksum %q is not the ETag %s", info.Checksum, info.Version)
			}
			_, opened, err := readAll(t, st, tc.key)
			if err != nil || opened.Checksum != info.Checksum {
				t.Errorf("read: checksum %q, %v; stat said %q", opened.Checksum, err, info.Checksum)
			}
			p.FlipBody(int64(s3test.MidLine(content, 7)))
			_, _, err = readAll(t, st, tc.key)
			switch {
			case tc.flip == "" && err != nil:
				t.Errorf("flipped byte in %s: err = %v, want none (nothing to check it against)", tc.key, err)
			case tc.flip != "" && (!errors.Is(err, store.ErrIncomplete) || !strings.Contains(err.Error(), tc.flip)):
				t.Errorf("flipped byte in %s: err = %v, want ErrIncomplete with %q", tc.key, err, tc.flip)
			}
		})
	}
}

// TestVersionID checks Info.VersionID on a versioned bucket, and its
// absence on a bucket without versions.
func TestVersionID(t *testing.T) {
	st := s3test.Require(t).Bucket(t)
	ctx := context.Background()
	put := func(content string) store.Info {
		t.Helper()
		if err := st.Put(ctx, "k", strings.NewReader(content), nil); err != nil {
			t.Fatal(err)
		}
		info, err := st.Stat(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		_, opened, err := readAll(t, st, "k")
		if err != nil || opened.VersionID != info.VersionID {
			t.Errorf("open version %q (%v), stat %q", opened.VersionID, err, info.VersionID)
		}
		return info
	}
	if v := put("a").VersionID; v != "" {
		t.Errorf("version ID %q in a bucket without versioning", v)
	}
	_, err := st.Client().PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(st.Bucket()),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		t.Fatal(err)
	}
	first, second := put("b"), put("c")
	if first.VersionID == "" || first.VersionID == second.VersionID {
		t.Errorf("version IDs %q then %q, want two different ones", first.VersionID, second.VersionID)
	}
}

// TestOutage stops the server: calls fail within the call timeout, and
// work again, on the same data, once it is back.
func TestOutage(t *testing.T) {
	srv := s3test.Require(t)
	direct := srv.Bucket(t)
	ctx := context.Background()
	if err := direct.Put(ctx, "k", strings.NewReader("kept\n"), nil); err != nil {
		t.Fatal(err)
	}
	st := srv.Proxy(t).Store(t, direct.Bucket())
	srv.Stop()
	t.Cleanup(func() {
		if _, err := st.Stat(ctx, "k"); err != nil {
			srv.Restart()
		}
	})
	start := time.Now()
	_, err := st.Stat(ctx, "k")
	took := time.Since(start)
	t.Logf("stat during the outage failed after %s: %v", took.Round(time.Millisecond), err)
	if err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("stat during the outage: err = %v", err)
	}
	if took > s3test.CallTimeout+time.Second {
		t.Errorf("stat during the outage took %s, more than the call timeout %s", took, s3test.CallTimeout)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	got, _, err := readAll(t, st, "k")
	if err != nil || string(got) != "kept\n" {
		t.Errorf("after the restart: %q, %v", got, err)
	}
}
