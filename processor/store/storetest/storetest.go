// Package storetest is the behaviour every store.Store must have, run by
// each backend's tests against a real backend: a folder, a MinIO server.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
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
	t.Run("Metadata", func(t *testing.T) { testMetadata(t, newStore(t)) })
	t.Run("InvalidMetadata", func(t *testing.T) { testInvalidMetadata(t, newStore(t)) })
	t.Run("CancelledPut", func(t *testing.T) { testCancelledPut(t, newStore(t)) })
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
	for _, info := range list(t, s, prefix) {
		out = append(out, info.Key)
	}
	sort.Strings(out)
	return out
}

func list(t *testing.T, s store.Store, prefix string) []store.Info {
	t.Helper()
	var out []store.Info
	for info, err := range s.List(context.Background(), prefix) {
		if err != nil {
			t.Fatalf("list %q: %v", prefix, err)
		}
		out = append(out, info)
	}
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

// testOverwrite checks that Version changes on every overwrite with new
// content, of the same size too and in quick succession, and that a listing
// agrees with Stat: the version is what tells an input from the one an
// output was made of. (The same content again may keep its version: S3's
// ETag is its MD5.)
func testOverwrite(t *testing.T, s store.Store) {
	seen := map[string]string{}
	for _, content := range []string{"first", "second, longer", "third, longer", "third, LONGER", "x"} {
		put(t, s, "k", content)
		got, info := read(t, s, "k")
		if got != content {
			t.Errorf("content = %q, want %q", got, content)
		}
		if before, ok := seen[info.Version]; ok {
			t.Errorf("put of %q has the version %q of an earlier put of %q", content, info.Version, before)
		}
		seen[info.Version] = content
		st, err := s.Stat(context.Background(), "k")
		if err != nil {
			t.Fatal(err)
		}
		listed := list(t, s, "k")
		if st.Version != info.Version || len(listed) != 1 || listed[0].Version != info.Version {
			t.Errorf("versions differ: open %q, stat %q, list %v", info.Version, st.Version, listed)
		}
	}
	// Overwrites of the same size as fast as the store takes them: a disk's
	// clock for modification times moves in steps of milliseconds.
	for i := range 20 {
		content := fmt.Sprintf("%04d", i)
		put(t, s, "k", content)
		st, err := s.Stat(context.Background(), "k")
		if err != nil {
			t.Fatal(err)
		}
		if before, ok := seen[st.Version]; ok {
			t.Fatalf("put of %q has the version %q of an earlier put of %q", content, st.Version, before)
		}
		seen[st.Version] = content
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

// testMetadata checks that Put's metadata comes back from Stat and Open,
// exactly, and that an overwrite replaces it whole.
func testMetadata(t *testing.T, s store.Store) {
	ctx := context.Background()
	putMeta := func(key string, meta store.Metadata) {
		t.Helper()
		if err := s.Put(ctx, key, strings.NewReader("x\n"), meta); err != nil {
			t.Fatalf("put %s with %v: %v", key, meta, err)
		}
	}
	check := func(key string, want store.Metadata) {
		t.Helper()
		st, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		_, opened := read(t, s, key)
		if !maps.Equal(st.Metadata, want) || !maps.Equal(opened.Metadata, want) {
			t.Errorf("%s: stat metadata %v, open metadata %v, want %v", key, st.Metadata, opened.Metadata, want)
		}
	}
	full := store.Metadata{
		"input-version": `"9b2cf535f27731c974343645a3985328"`,
		"records":       "12",
		"note":          "two  spaces, punctuation !#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
		"x":             strings.Repeat("v", 1500),
	}
	putMeta("m/full", full)
	check("m/full", full)

	putMeta("m/none", nil)
	check("m/none", nil)
	putMeta("m/empty", store.Metadata{})
	check("m/empty", nil)

	putMeta("m/over", store.Metadata{"a": "1", "b": "2"})
	putMeta("m/over", store.Metadata{"b": "3", "c": "4"})
	check("m/over", store.Metadata{"b": "3", "c": "4"})
	putMeta("m/over", nil)
	check("m/over", nil)
}

// testInvalidMetadata checks that metadata no store could keep unchanged is
// refused before anything is written, and says why.
func testInvalidMetadata(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, "m/kept", "old")
	for _, tc := range []struct {
		meta store.Metadata
		want string
	}{
		{store.Metadata{"Upper": "x"}, `key "Upper"`},
		{store.Metadata{"k": "line\nbreak"}, "printable ASCII"},
		{store.Metadata{"k": strings.Repeat("x", store.MaxMetadataSize)}, "more than"},
	} {
		for _, key := range []string{"m/new", "m/kept"} {
			err := s.Put(ctx, key, strings.NewReader("new"), tc.meta)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("put %s with %v: err = %v, want one with %q", key, tc.meta, err, tc.want)
			}
		}
	}
	if got := keys(t, s, ""); fmt.Sprint(got) != "[m/kept]" {
		t.Errorf("after refused puts the store holds %v", got)
	}
	if got, info := read(t, s, "m/kept"); got != "old" || len(info.Metadata) != 0 {
		t.Errorf("refused puts changed m/kept to %q %v", got, info.Metadata)
	}
}

// cancelling yields n bytes, then cancels the context it was given and
// waits for the store to notice, as a pod told to stop (SIGTERM) in the
// middle of an upload does.
type cancelling struct {
	n      int64
	ctx    context.Context
	cancel context.CancelFunc
}

func (c *cancelling) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
		<-c.ctx.Done()
		return 0, c.ctx.Err()
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	clear(p)
	c.n -= int64(len(p))
	return len(p), nil
}

// testCancelledPut checks that a Put whose context ends while it streams
// (after a few bytes, or after several upload parts) leaves nothing: no
// object, no temporary file in a listing, the old object as it was.
func testCancelledPut(t *testing.T, s store.Store) {
	put(t, s, "c/kept", "old")
	for _, size := range []int64{3, 20 << 20} {
		for _, key := range []string{"c/new", "c/kept"} {
			ctx, cancel := context.WithCancel(context.Background())
			err := s.Put(ctx, key, &cancelling{n: size, ctx: ctx, cancel: cancel}, store.Metadata{"k": "v"})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("put %s cancelled after %d bytes: err = %v, want context.Canceled", key, size, err)
			}
		}
	}
	if got := keys(t, s, ""); fmt.Sprint(got) != "[c/kept]" {
		t.Errorf("after cancelled puts the store holds %v, want only c/kept", got)
	}
	if got, info := read(t, s, "c/kept"); got != "old" || len(info.Metadata) != 0 {
		t.Errorf("cancelled put changed c/kept to %q %v", got, info.Metadata)
	}
}
