package processor

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/rules"
	"github.com/fieldflow/fieldflow/processor/store"
)

// quickRetry makes a processor whose attempts back off in milliseconds.
func quickRetry(t *testing.T, st store.Store, attempts int) *Processor {
	t.Helper()
	p := newProcessor(t, st)
	for _, a := range p.pipe.Assets {
		a.Retry = pipeline.Retry{Attempts: attempts, Backoff: 20 * time.Millisecond, Factor: 2, MaxBackoff: 80 * time.Millisecond}
	}
	return p
}

// flakyStore fails output uploads while broken is set, as a store outage does.
type flakyStore struct {
	store.Store
	broken bool
}

func (f *flakyStore) Put(ctx context.Context, key string, r io.Reader, meta store.Metadata) error {
	if f.broken && strings.Contains(key, "/output/") {
		io.CopyN(io.Discard, r, 10)
		return errors.New("connection reset by peer")
	}
	return f.Store.Put(ctx, key, r, meta)
}

func TestAttemptsAreCountedAndBounded(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		flaky := &flakyStore{Store: st, broken: true}
		p := quickRetry(t, flaky, 3)
		key := boxKey(boxA)
		put(t, st, key, strings.Repeat(line(boxA, "false"), 5000))
		for attempt := 1; attempt <= 3; attempt++ {
			res, err := p.Process(ctx, key)
			failedAt := time.Now()
			if err == nil || !strings.Contains(err.Error(), "connection reset") || res.Attempt != attempt {
				t.Fatalf("attempt %d: %+v, err = %v", attempt, res, err)
			}
			if last := attempt == 3; errors.Is(err, ErrPermanent) != last {
				t.Fatalf("attempt %d: permanent = %v, want %v (%v)", attempt, !last, last, err)
			}
			v, _ := p.Check(ctx, key)
			if attempt < 3 {
				wait := p.pipe.Assets[0].Retry.Wait(attempt)
				if v.State != rules.Retrying || v.Attempts != attempt || v.RetryAt.After(failedAt.Add(wait)) || v.RetryAt.Before(failedAt.Add(wait-time.Second)) {
					t.Fatalf("right after attempt %d: %+v, want a retry %s after the failure", attempt, v, wait)
				}
				waitReady(t, p, key)
			} else if v.State != rules.Failed || v.Ready || !strings.Contains(v.Reason, "gave up after 3 attempts: ") {
				t.Fatalf("after the last attempt: %+v", v)
			}
		}
		if keys, _ := p.Ready(ctx, ""); len(keys) != 0 {
			t.Errorf("ready lists %v, want nothing once the box gave up", keys)
		}
		if _, err := p.Process(ctx, key); !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "gave up") {
			t.Errorf("process after giving up: %v, want a permanent error", err)
		}
		assertNoOutput(t, st, "boxes/output/")
		flaky.broken = false
		if v, err := p.Retry(ctx, key); err != nil || v.State != rules.Ready {
			t.Fatalf("retry: %+v, %v", v, err)
		}
		if res, err := p.Process(ctx, key); err != nil || res.Attempt != 1 || res.Records != 5000 {
			t.Fatalf("after retry: %+v, %v", res, err)
		}
		if _, ok := get(t, st, p.pipe.FailedKey(key)); ok {
			t.Error("the failure note stayed after success")
		}
		if _, err := p.Retry(ctx, key); !errors.Is(err, ErrPermanent) {
			t.Errorf("retry of a done input: %v, want a permanent error", err)
		}
	})
}

// waitReady waits until key's backoff is over.
func waitReady(t *testing.T, p *Processor, key string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := p.Check(context.Background(), key)
		if err == nil && v.Ready {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after its backoff: %+v %v", key, v, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func assertNoOutput(t *testing.T, st store.Store, prefix string) {
	t.Helper()
	for info, err := range st.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("unexpected output %s", info.Key)
	}
}

func TestRunOnceRetriesAfterBackoff(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		flaky := &flakyStore{Store: st, broken: true}
		p := quickRetry(t, flaky, 5)
		put(t, st, boxKey(boxA), line(boxA, "false"))
		put(t, st, fieldKey(boxA, "2025-06-02"), line(boxA, "false"))
		// The outage ends while the run waits for the second attempt's backoff.
		go func() {
			time.Sleep(30 * time.Millisecond)
			flaky.broken = false
		}()
		if _, err := p.RunOnce(ctx, 2); err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]rules.State{boxKey(boxA): rules.Done, fieldKey(boxA, "2025-06-02"): rules.Done} {
			if v, _ := p.Check(ctx, key); v.State != want {
				t.Errorf("%s: %s (%s), want %s", key, v.State, v.Reason, want)
			}
		}
	})
}

func TestChangedInputRunsAgain(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := newProcessor(t, st)
		box, field := boxKey(boxA), fieldKey(boxA, "2025-06-02")
		put(t, st, box, line(boxA, "false"))
		put(t, st, field, line(boxA, "false"))
		if _, err := p.RunOnce(ctx, 1); err != nil {
			t.Fatal(err)
		}
		fieldOut, _ := st.Stat(ctx, "fields/output/"+boxA+"/fields_2025-06-02.jsonl")
		first, err := p.ReadProvenance(ctx, box)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // a new modification time on a disk
		corrected := line(boxA, "false") + line(boxA, "false")
		put(t, st, box, corrected)
		v, _ := p.Check(ctx, box)
		if v.State != rules.Stale || !v.Ready || !strings.Contains(v.Reason, "input changed after it was processed on") {
			t.Fatalf("after the re-upload: %+v", v)
		}
		if keys, _ := p.Ready(ctx, ""); len(keys) != 1 || keys[0] != box {
			t.Fatalf("ready = %v, want the changed box alone", keys)
		}
		res, err := p.Process(ctx, box)
		if err != nil || res.AlreadyDone || res.Records != 2 {
			t.Fatalf("reprocess: %+v, %v", res, err)
		}
		out, _ := get(t, st, "boxes/output/bounding_box_"+boxA+".jsonl")
		if want := strings.ReplaceAll(corrected, `"is_processed": false`, `"is_processed": true`); out != want {
			t.Errorf("output after the re-upload:\n%s\nwant\n%s", out, want)
		}
		second, err := p.ReadProvenance(ctx, box)
		if err != nil || second.Version == first.Version || second.Version != res.Version || second.Size != int64(len(corrected)) || len(second.SHA256) != 64 {
			t.Errorf("provenance %+v after %+v (result %+v, %v)", second, first, res, err)
		}
		var markers int
		for range st.List(ctx, p.pipe.MarkerPrefix(box)) {
			markers++
		}
		if markers != 1 {
			t.Errorf("%d provenance markers, want 1", markers)
		}
		// The field depends on its box being processed, not on its content.
		if v, _ := p.Check(ctx, field); v.State != rules.Done {
			t.Errorf("field after its box was reprocessed: %+v", v)
		}
		if after, _ := st.Stat(ctx, fieldOut.Key); after.Version != fieldOut.Version {
			t.Error("reprocessing the box rewrote its field's output")
		}
		if keys, _ := p.Ready(ctx, box); len(keys) != 0 {
			t.Errorf("the reprocessed box released %v", keys)
		}
	})
}

// cutStore serves reads that end early with a plain io.EOF, as a store
// that does not check sizes would: the processor must not believe them.
type cutStore struct {
	store.Store
	at func(content []byte) int
}

func (c cutStore) Open(ctx context.Context, key string) (io.ReadCloser, store.Info, error) {
	rc, info, err := c.Store.Open(ctx, key)
	if err != nil || !strings.HasPrefix(key, "boxes/input/") {
		return rc, info, err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, info, err
	}
	return io.NopCloser(strings.NewReader(string(b[:c.at(b)]))), info, nil
}

func TestShortReadIsRetryable(t *testing.T) {
	content := strings.Repeat(line(boxA, "false"), 40)
	for name, at := range map[string]func([]byte) int{
		"on a line break": func(b []byte) int { return strings.Index(string(b), "\n") + 1 },
		"mid-line":        func(b []byte) int { return len(b) / 2 },
	} {
		t.Run(name, func(t *testing.T) {
			backends(t, func(t *testing.T, st store.Store) {
				ctx := context.Background()
				p := newProcessor(t, cutStore{Store: st, at: at})
				put(t, st, boxKey(boxA), content)
				_, err := p.Process(ctx, boxKey(boxA))
				if !errors.Is(err, store.ErrIncomplete) || errors.Is(err, ErrPermanent) {
					t.Fatalf("err = %v, want a retryable incomplete read", err)
				}
				assertNoOutput(t, st, "boxes/output/")
				assertNoOutput(t, st, "quarantine/")
				if v, _ := p.Check(ctx, boxKey(boxA)); v.State != rules.Retrying {
					t.Errorf("after a short read: %+v", v)
				}
				p.store = st // the connection is whole again
				waitReady(t, quickRetry(t, st, 5), boxKey(boxA))
			})
		})
	}
}

func TestRejectedKeysAreShown(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		p := newProcessor(t, st)
		bad := "fields/input/" + boxA + "/fields_2025-06-31.jsonl"
		put(t, st, bad, line(boxA, "false"))
		put(t, st, "fields/input/readme.txt", "notes")
		vs, err := p.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || vs[0].Key != bad || vs[0].State != rules.Rejected || !strings.Contains(vs[0].Reason, "2025-06-31") {
			t.Fatalf("status = %+v, want the impossible date rejected and the readme ignored", vs)
		}
		if _, err := p.Process(ctx, bad); !errors.Is(err, ErrPermanent) {
			t.Errorf("process %s: %v, want a permanent error", bad, err)
		}
	})
}
