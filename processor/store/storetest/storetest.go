// Package storetest is the behaviour every store.Store must have, run by
// each backend's tests against a real backend: a folder, a MinIO server.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/fieldflow/fieldflow/processor/store"
)

// Options size the heavier tests.
type Options struct {
	ManyKeys  int   // objects for the listing test; above 1000 crosses S3's page size
	LargeSize int64 // bytes for the streamed upload test
}

// Run runs the suite on stores made by newStore, each one empty.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, opt Options) {
	t.Run("PutOpenStat", func(t *testing.T) { testPutOpenStat(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, newStore(t)) })
	t.Run("FailedPutLeavesNothing", func(t *testing.T) { testFailedPut(t, newStore(t)) })
	t.Run("ListPrefixes", func(t *testing.T) { testListPrefixes(t, newStore(t)) })
	t.Run("ListMany", func(t *testing.T) { testListMany(t, newStore(t), opt.ManyKeys) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("LargeStream", func(t *testing.T) { testLarge(t, newStore(t), opt.LargeSize) })
}

func put(t *testing.T, s store.Store, key, content string) {
	t.Helper()
	if err := s.Put(context.Background(), key, strings.NewReader(content), nil); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func read(t *testing.T, s store.Store, key string) (string, store.Info) {
	t.Helper()
	rc, info, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return string(b), info
}

func keys(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	var out []string
	for info, err := range s.List(context.Background(), prefix) {
		if err != nil {
			t.Fatalf("list %q: %v", prefix, err)
		}
		out = append(out, info.Key)
	}
	sort.Strings(out)
	return out
}

func testPutOpenStat(t *testing.T, s store.Store) {
	const key, content = "fields/input/a b+c/fields_2025-06-02.jsonl", "{\"x\":1}\n"
	put(t, s, key, content)
	got, info := read(t, s, key)
	if got != content {
		t.Errorf("content = %q, want %q", got, content)
	}
	if info.Key != key || info.Size != int64(len(content)) || info.Version == "" {
		t.Errorf("open info = %+v", info)
	}
	st, err := s.Stat(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size != info.Size || st.Version != info.Version {
		t.Errorf("stat %+v differs from open %+v", st, info)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, "a/file", "x")
	for _, key := range []string{"missing", "a/missing", "a/file/below"} {
		if _, _, err := s.Open(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("open %s: err = %v, want ErrNotFound", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("stat %s: err = %v, want ErrNotFound", key, err)
		}
	}
	if _, err := s.Stat(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("stat of a folder: err = %v, want ErrNotFound", err)
	}
}

func testOverwrite(t *testing.T, s store.Store) {
	put(t, s, "k", "first")
	_, before := read(t, s, "k")
	put(t, s, "k", "second, longer")
	got, after := read(t, s, "k")
	if got != "second, longer" {
		t.Errorf("content = %q", got)
	}
	if before.Version == after.Version {
		t.Errorf("version %q did not change on overwrite", after.Version)
	}
}

// failingReader yields n bytes, then an error, as a processing pass that
// meets an invalid line does.
type failingReader struct{ n int64 }

var errBroken = errors.New("broken input")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errBroken
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	for i := range p {
		p[i] = 'x'
	}
	f.n -= int64(len(p))
	return len(p), nil
}

func testFailedPut(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, "out/kept", "old")
	// Small (one part) and large (multipart) failures, on a new key and over an old one.
	for _, size := range []int64{10, 20 << 20} {
		for _, key := range []string{"out/new", "out/kept"} {
			err := s.Put(ctx, key, &failingReader{n: size}, nil)
			if !errors.Is(err, errBroken) {
				t.Errorf("put %s after %d bytes: err = %v, want the reader's error", key, size, err)
			}
		}
	}
	if got := keys(t, s, ""); fmt.Sprint(got) != "[out/kept]" {
		t.Errorf("after failed puts the store holds %v, want only out/kept", got)
	}
	if got, _ := read(t, s, "out/kept"); got != "old" {
		t.Errorf("failed put changed out/kept to %q", got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(cctx, "out/cancelled", strings.NewReader("x"), nil); err == nil {
		t.Error("put with a cancelled context succeeded")
	}
	if _, err := s.Stat(ctx, "out/cancelled"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancelled put left an object: %v", err)
	}
}

func testListPrefixes(t *testing.T, s store.Store) {
	for _, k := range []string{
		"fields/input/b1/fields_2025-06-02.jsonl",
		"fields/input/b1/fields_2025-06-03_x.jsonl",
		"fields/input/b1/other.txt",
		"fields/input/b10/fields_2025-06-02.jsonl",
		"fields/input-old/b1/fields_2025-06-02.jsonl",
		"fields/output/b1/fields_2025-06-02.jsonl",
		"top.txt",
	} {
		put(t, s, k, "x")
	}
	for _, tc := range []struct {
		prefix string
		want   string
	}{
		{"fields/input/b1/fields_", "[fields/input/b1/fields_2025-06-02.jsonl fields/input/b1/fields_2025-06-03_x.jsonl]"},
		{"fields/input/b1/", "[fields/input/b1/fields_2025-06-02.jsonl fields/input/b1/fields_2025-06-03_x.jsonl fields/input/b1/other.txt]"},
		{"fields/input/b1", "[fields/input/b1/fields_2025-06-02.jsonl fields/input/b1/fields_2025-06-03_x.jsonl fields/input/b1/other.txt fields/input/b10/fields_2025-06-02.jsonl]"},
		{"fields/input/", "[fields/input/b1/fields_2025-06-02.jsonl fields/input/b1/fields_2025-06-03_x.jsonl fields/input/b1/other.txt fields/input/b10/fields_2025-06-02.jsonl]"},
		{"fields/out", "[fields/output/b1/fields_2025-06-02.jsonl]"},
		{"nothing/", "[]"},
		{"fields/input/b1/fields_2025-06-02.jsonl", "[fields/input/b1/fields_2025-06-02.jsonl]"},
	} {
		if got := fmt.Sprint(keys(t, s, tc.prefix)); got != tc.want {
			t.Errorf("list %q = %s, want %s", tc.prefix, got, tc.want)
		}
	}
	if n := len(keys(t, s, "")); n != 7 {
		t.Errorf("list of everything has %d keys, want 7", n)
	}
}

func testListMany(t *testing.T, s store.Store, n int) {
	if n == 0 {
		n = 1100
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			key := fmt.Sprintf("many/f%05d", i)
			if err := s.Put(context.Background(), key, strings.NewReader("x"), nil); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := keys(t, s, "many/")
	if len(got) != n {
		t.Fatalf("listed %d keys, want %d", len(got), n)
	}
	for i, k := range got {
		if want := fmt.Sprintf("many/f%05d", i); k != want {
			t.Fatalf("key %d = %s, want %s", i, k, want)
		}
	}
	// Stopping early must stop the listing, not fail it.
	seen := 0
	for _, err := range s.List(context.Background(), "many/") {
		if err != nil {
			t.Fatal(err)
		}
		if seen++; seen == 3 {
			break
		}
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, "d/k", "x")
	if err := s.Delete(ctx, "d/k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "d/k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("stat after delete: %v", err)
	}
	if err := s.Delete(ctx, "d/k"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
}

// pattern is a reader of n bytes whose content depends on the offset, so a
// dropped or repeated part shows.
type pattern struct{ off, n int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if rest := p.n - p.off; int64(len(b)) > rest {
		b = b[:rest]
	}
	for i := range b {
		o := p.off + int64(i)
		b[i] = byte(o ^ (o >> 8) ^ (o >> 16))
	}
	p.off += int64(len(b))
	return len(b), nil
}

func testLarge(t *testing.T, s store.Store, size int64) {
	if size == 0 {
		size = 24 << 20
	}
	ctx := context.Background()
	if err := s.Put(ctx, "large/object", &pattern{n: size}, nil); err != nil {
		t.Fatal(err)
	}
	rc, info, err := s.Open(ctx, "large/object")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if info.Size != size {
		t.Errorf("size = %d, want %d", info.Size, size)
	}
	want := &pattern{n: size}
	a, b := make([]byte, 1<<20), make([]byte, 1<<20)
	var off int64
	for {
		n, err := io.ReadFull(rc, a)
		if n > 0 {
			want.Read(b[:n])
			if !bytes.Equal(a[:n], b[:n]) {
				t.Fatalf("content differs in the MiB at offset %d", off)
			}
			off += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if off != size {
		t.Errorf("read %d bytes, want %d", off, size)
	}
}
