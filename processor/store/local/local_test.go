package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fieldflow/fieldflow/processor/store"
	"github.com/fieldflow/fieldflow/processor/store/storetest"
)

// helpers are the child processes some tests start: the test binary run
// again with FIELDFLOW_TEST_HELPER naming one.
var helpers = map[string]func() int{"put": helperPut}

func TestMain(m *testing.M) {
	if name := os.Getenv("FIELDFLOW_TEST_HELPER"); name != "" {
		helper, ok := helpers[name]
		if !ok {
			os.Exit(2)
		}
		os.Exit(helper())
	}
	os.Exit(m.Run())
}

func newStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, t.TempDir()) },
		storetest.Options{ManyKeys: 1100, LargeSize: 24 << 20})
}

func TestRejectsEscapingKeys(t *testing.T) {
	s := newStore(t, t.TempDir())
	for _, key := range []string{"../x", "a/../../x", "/etc/passwd", "a//b", "./a", ""} {
		if err := s.Put(context.Background(), key, strings.NewReader("x"), nil); err == nil {
			t.Errorf("put %q succeeded", key)
		}
	}
}

func TestFailedPutLeavesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.Put(ctx, "a/b", strings.NewReader("x"), nil)
	if files := files(t, dir); len(files) != 0 {
		t.Errorf("files left behind: %v", files)
	}
}

// files lists every file below dir, links included, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// tree is every file below dir with its content, links as "-> target".
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range files(t, dir) {
		p := filepath.Join(dir, f)
		if target, err := os.Readlink(p); err == nil {
			out[f] = "-> " + target
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSymlinks checks that no operation reads or writes through a link
// that leaves the root, and that links inside it work as documented.
func TestSymlinks(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	must(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("outside"), 0o644))
	must(t, os.MkdirAll(filepath.Join(root, "real"), 0o755))
	must(t, os.MkdirAll(filepath.Join(root, "in"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "real", "file"), []byte("inside"), 0o644))
	rel, err := filepath.Rel(filepath.Join(root, "in"), filepath.Join(outside, "secret"))
	must(t, err)
	links := map[string]string{
		"in/abs":     filepath.Join(outside, "secret"), // to a file outside, absolute
		"in/rel":     rel,                              // to a file outside, relative
		"dirlink":    outside,                          // to a folder outside
		"in/nowhere": "../missing",                     // inside, dangling
		"in/inside":  "../real/file",                   // to a file inside
		"insidedir":  "real",                           // to a folder inside
	}
	for link, target := range links {
		must(t, os.Symlink(target, filepath.Join(root, link)))
	}
	before, beforeOutside := tree(t, root), tree(t, outside)
	s := newStore(t, root)
	ctx := context.Background()

	for _, key := range []string{"in/abs", "in/rel", "dirlink/secret", "dirlink/new"} {
		_, _, openErr := s.Open(ctx, key)
		_, statErr := s.Stat(ctx, key)
		putErr := s.Put(ctx, key, strings.NewReader("written"), nil)
		deleteErr := s.Delete(ctx, key)
		for op, err := range map[string]error{"open": openErr, "stat": statErr, "put": putErr, "delete": deleteErr} {
			if err == nil || errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "escapes") {
				t.Errorf("%s %s: err = %v, want a path that escapes", op, key, err)
			}
		}
	}
	if err := s.Put(ctx, "dirlink/sub/new", strings.NewReader("written"), nil); err == nil {
		t.Error("put below a link to a folder outside succeeded")
	}
	if got := tree(t, outside); !maps.Equal(got, beforeOutside) {
		t.Errorf("the folder outside changed: %v, was %v", got, beforeOutside)
	}
	if got := tree(t, root); !maps.Equal(got, before) {
		t.Errorf("the root changed: %v, was %v", got, before)
	}

	// Inside the root, links are followed.
	for key, want := range map[string]string{"in/inside": "inside", "insidedir/file": "inside", "real/file": "inside"} {
		rc, _, err := s.Open(ctx, key)
		if err != nil {
			t.Errorf("open %s: %v", key, err)
			continue
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if string(b) != want || err != nil {
			t.Errorf("open %s: %q, %v", key, b, err)
		}
	}
	if _, err := s.Stat(ctx, "in/nowhere"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("stat of a dangling link: %v, want ErrNotFound", err)
	}
	var listed []string
	for info, err := range s.List(ctx, "") {
		must(t, err)
		listed = append(listed, info.Key)
	}
	sort.Strings(listed)
	if want := []string{"in/inside", "real/file"}; !slices.Equal(listed, want) {
		t.Errorf("list = %v, want %v: a link to a file inside, no link out, no linked folder", listed, want)
	}
	var below []string
	for info, err := range s.List(ctx, "dirlink/") {
		below = append(below, fmt.Sprint(info.Key, err))
	}
	if len(below) != 1 || !strings.Contains(below[0], "escapes") {
		t.Errorf("list of a prefix through a link out = %v, want one error", below)
	}
}

// TestReadSeesTruncation checks that Open's reader compares what it read
// with the size it stat'ed: a file cut short or grown while it is read is
// an incomplete read, never a short or long file ending in io.EOF.
func TestReadSeesTruncation(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	content := bytes.Repeat([]byte("0123456789abcdef\n"), 200_000) // 3.4 MB
	for _, tc := range []struct {
		name   string
		change func(p string) error
	}{
		{"truncated", func(p string) error { return os.Truncate(p, 2<<20) }},
		{"grown", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("more\n"))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			must(t, s.Put(ctx, "k", bytes.NewReader(content), nil))
			rc, info, err := s.Open(ctx, "k")
			must(t, err)
			defer rc.Close()
			if info.Size != int64(len(content)) {
				t.Fatalf("size %d", info.Size)
			}
			if _, err := io.ReadFull(rc, make([]byte, 1<<20)); err != nil {
				t.Fatal(err)
			}
			must(t, tc.change(filepath.Join(dir, "k")))
			_, err = io.Copy(io.Discard, rc)
			if !errors.Is(err, store.ErrIncomplete) {
				t.Errorf("reading a file %s meanwhile: err = %v, want ErrIncomplete", tc.name, err)
			}
		})
	}
}

// TestMetadataSurvivesRename checks that metadata belongs to the file, not
// its name: a file moved by hand keeps it.
func TestMetadataSurvivesRename(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	meta := store.Metadata{"input-version": "v1", "records": "3"}
	must(t, s.Put(ctx, "a/old", strings.NewReader("x\n"), meta))
	must(t, os.MkdirAll(filepath.Join(dir, "b"), 0o755))
	must(t, os.Rename(filepath.Join(dir, "a", "old"), filepath.Join(dir, "b", "new")))
	info, err := s.Stat(ctx, "b/new")
	must(t, err)
	if !maps.Equal(info.Metadata, meta) {
		t.Errorf("metadata after a rename = %v, want %v", info.Metadata, meta)
	}
}

// TestVersionWithinOneClockStep checks that two Puts of the same size in
// one step of the kernel's clock for modification times (a few ms, easily
// met by a fast disk) still have different versions.
func TestVersionWithinOneClockStep(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	must(t, s.Put(ctx, "k", strings.NewReader("aaaa"), nil))
	first, err := s.Stat(ctx, "k")
	must(t, err)
	must(t, s.Put(ctx, "k", strings.NewReader("bbbb"), nil))
	must(t, os.Chtimes(filepath.Join(dir, "k"), first.ModTime, first.ModTime))
	second, err := s.Stat(ctx, "k")
	must(t, err)
	if !second.ModTime.Equal(first.ModTime) {
		t.Fatal("could not give the second put the first one's time")
	}
	if first.Version == second.Version {
		t.Errorf("two puts in one clock step have the same version %q", first.Version)
	}
}

// helperPut is a child process that Puts its standard input into
// FIELDFLOW_TEST_KEY of the store at FIELDFLOW_TEST_DIR.
func helperPut() int {
	s, err := New(os.Getenv("FIELDFLOW_TEST_DIR"))
	if err == nil {
		err = s.Put(context.Background(), os.Getenv("FIELDFLOW_TEST_KEY"), os.Stdin, nil)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// putter is a Put running in a child process.
type putter struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
}

func startPut(t *testing.T, dir, key string) *putter {
	t.Helper()
	p := &putter{cmd: exec.Command(os.Args[0], "-test.run=^$")}
	p.cmd.Env = append(os.Environ(), "FIELDFLOW_TEST_HELPER=put", "FIELDFLOW_TEST_DIR="+dir, "FIELDFLOW_TEST_KEY="+key)
	p.cmd.Stderr = &p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	must(t, p.cmd.Start())
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

// temps lists the temporary files in folder.
func temps(t *testing.T, folder string) []string {
	t.Helper()
	entries, err := os.ReadDir(folder)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if isTemp(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// waitTemp waits for a temporary file in folder other than those in known
// to hold size bytes, and returns its name.
func waitTemp(t *testing.T, folder string, size int64, known ...string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, name := range temps(t, folder) {
			fi, err := os.Stat(filepath.Join(folder, name))
			if !slices.Contains(known, name) && err == nil && fi.Size() == size {
				return name
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no temporary file of %d bytes appeared in %s: %v", size, folder, temps(t, folder))
	return ""
}

// lockedByOther reports whether another open file holds the flock on p.
func lockedByOther(t *testing.T, p string) bool {
	t.Helper()
	f, err := os.Open(p)
	must(t, err)
	defer f.Close()
	free, err := tryLock(f)
	must(t, err)
	return !free
}

// TestDeadWriterTempFile kills a writer in the middle of a Put: its
// temporary file stays behind, unlocked, until the next Put in that folder
// removes it; a live writer's file in the same folder is never removed.
func TestDeadWriterTempFile(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "out")
	s := newStore(t, dir)
	ctx := context.Background()

	dead := startPut(t, dir, "out/dead")
	io.WriteString(dead.stdin, "half a li")
	deadTemp := waitTemp(t, folder, 9)
	if !lockedByOther(t, filepath.Join(folder, deadTemp)) {
		t.Fatal("a live writer's temporary file is not locked")
	}
	must(t, dead.cmd.Process.Signal(syscall.SIGKILL))
	dead.cmd.Wait()
	if got := temps(t, folder); !slices.Equal(got, []string{deadTemp}) {
		t.Fatalf("after SIGKILL the folder holds temporary files %v, want the dead writer's %s", got, deadTemp)
	}
	if lockedByOther(t, filepath.Join(folder, deadTemp)) {
		t.Fatal("a dead writer's file is still locked")
	}

	live := startPut(t, dir, "out/live")
	io.WriteString(live.stdin, "first half, ")
	liveTemp := waitTemp(t, folder, 12, deadTemp)

	must(t, s.Put(ctx, "out/other", strings.NewReader("x"), nil))
	if got := temps(t, folder); !slices.Equal(got, []string{liveTemp}) {
		t.Fatalf("after a put the folder holds temporary files %v, want only the live writer's %s", got, liveTemp)
	}

	io.WriteString(live.stdin, "second half\n")
	live.stdin.Close()
	if err := live.cmd.Wait(); err != nil {
		t.Fatalf("live writer: %v: %s", err, live.stderr.String())
	}
	want := map[string]string{"out/other": "x", "out/live": "first half, second half\n"}
	if got := tree(t, dir); !maps.Equal(got, want) {
		t.Errorf("store holds %v, want %v", got, want)
	}
}

// BenchmarkPutInFullFolder measures a small Put into a folder of 10,000
// objects: every Put reads the folder's names to sweep dead writers' files.
func BenchmarkPutInFullFolder(b *testing.B) {
	dir := b.TempDir()
	for i := range 10_000 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	s, err := New(dir)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.Put(context.Background(), "new", strings.NewReader("x"), nil); err != nil {
			b.Fatal(err)
		}
	}
}
