// Package local is a store.Store on a folder: the key is the path of the
// file relative to the folder.
//
// Every access goes through an os.Root, so no key reads or writes outside
// the folder, whatever symbolic links it holds: a link is followed only
// while it stays inside the folder, and a key whose path leaves it (through
// a link to a folder outside, or an absolute link) fails with "path escapes
// from parent". Put and Delete refuse a key that is itself such a link, as
// Open and Stat do, rather than replace or remove it. List yields a link to
// a file inside the folder under the link's own key, as Stat and Open see
// it, and skips every other link: it never descends into a linked folder
// (its files are listed under their real keys; a link to an ancestor would
// loop) and never yields a link that leaves the folder or leads nowhere.
//
// Writes go to a hidden temporary file, locked while it is written (see
// temp.go), that is synced and renamed, so a crash never leaves a partial
// object. Metadata is kept in extended attributes (see xattr.go).
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/fieldflow/fieldflow/processor/store"
)

const copyBuffer = 1 << 20

// Store is a folder of objects.
type Store struct {
	dir  string // absolute, for messages
	root *os.Root
}

// New returns a store rooted at dir, creating the folder. The store holds
// the folder open for as long as it lives.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("local store: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("local store: %w", err)
	}
	return &Store{dir: abs, root: root}, nil
}

func (s *Store) String() string { return s.dir }

// Root is the folder the store writes to.
func (s *Store) Root() string { return s.dir }

// name is key as a path inside the root.
func name(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || !fs.ValidPath(key) {
		return "", fmt.Errorf("key %q is not a clean relative path", key)
	}
	return key, nil
}

func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, store.Info, error) {
	f, info, err := s.open(key)
	if err != nil {
		return nil, store.Info{}, fmt.Errorf("open %w", err)
	}
	return store.Verify(f, filepath.Join(s.dir, key), info.Size), info, nil
}

func (s *Store) Stat(ctx context.Context, key string) (store.Info, error) {
	f, info, err := s.open(key)
	if err != nil {
		return store.Info{}, fmt.Errorf("stat %w", err)
	}
	f.Close()
	return info, nil
}

// open opens the regular file at key and describes it, metadata included.
// Errors start with the key, for the caller to prefix with its operation.
func (s *Store) open(key string) (*os.File, store.Info, error) {
	n, err := name(key)
	if err != nil {
		return nil, store.Info{}, err
	}
	f, err := s.root.Open(n)
	if err != nil {
		return nil, store.Info{}, notFound(key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		f.Close()
		return nil, store.Info{}, notFound(key, err)
	}
	meta, err := readMetadata(f)
	if err != nil {
		f.Close()
		return nil, store.Info{}, fmt.Errorf("%s: %w", key, err)
	}
	i := info(key, fi)
	i.Metadata = meta
	return f, i, nil
}

// Put writes r to a locked temporary file beside the object, sets meta on
// it and renames it over key, after removing the temporary files in that
// folder that a dead writer left.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, meta store.Metadata) (err error) {
	if err := meta.Check(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	n, err := name(key)
	if err != nil {
		return err
	}
	dir := path.Dir(n)
	if err := s.root.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	s.sweep(dir)
	t, err := s.createTemp(dir)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			s.root.Remove(t.name)
		}
		t.Close() // releases the lock, after the rename or the removal
	}()
	if err := s.write(ctx, t.File, r, meta); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := s.refuseEscapingLink(n); err != nil {
		return fmt.Errorf("put %w", err)
	}
	if err := s.root.Rename(t.name, n); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return s.syncDir(dir)
}

// write fills a temporary file and makes it durable. Metadata goes first:
// a file system that cannot keep it fails the Put before the copy.
func (s *Store) write(ctx context.Context, f *os.File, r io.Reader, meta store.Metadata) error {
	if err := writeMetadata(f, meta); err != nil {
		return fmt.Errorf("%w (in %s)", err, s.dir)
	}
	// Large writes: the default 32 KiB copy costs a syscall and a pipe
	// hand-off per 32 KiB when r is a processing pass.
	buf := make([]byte, copyBuffer)
	if _, err := io.CopyBuffer(struct{ io.Writer }{f}, contextReader{ctx, r}, buf); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return ctx.Err()
}

// refuseEscapingLink fails when n is a symbolic link that leaves the root,
// so that Put and Delete treat such a key as Open and Stat do.
func (s *Store) refuseEscapingLink(n string) error {
	fi, err := s.root.Lstat(n)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return nil // no file yet, or not a link
	}
	if _, err := s.root.Stat(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", n, err)
	}
	return nil
}

// syncDir makes a rename durable.
func (s *Store) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", filepath.Join(s.dir, dir), err)
	}
	return nil
}

func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[store.Info, error] {
	return func(yield func(store.Info, error) bool) {
		// Walk from the deepest folder the prefix names; the rest of the
		// prefix filters names.
		start := strings.TrimSuffix(prefix[:strings.LastIndex(prefix, "/")+1], "/")
		if start == "" {
			start = "."
		}
		fsys := s.root.FS()
		err := fs.WalkDir(fsys, start, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
					return nil // vanished while walking, or the prefix names no folder
				}
				return err
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			key := p
			if d.IsDir() {
				if p != start && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
					return fs.SkipDir
				}
				return nil
			}
			if isTemp(d.Name()) || !strings.HasPrefix(key, prefix) {
				return nil
			}
			fi, err := fs.Stat(fsys, p) // follows a link, inside the root only
			if err != nil || !fi.Mode().IsRegular() {
				return nil // gone, a link out or to nowhere, a folder link, a device
			}
			if !yield(info(key, fi), nil) {
				return fs.SkipAll
			}
			return nil
		})
		if err != nil {
			yield(store.Info{}, fmt.Errorf("list %s: %w", prefix, err))
		}
	}
}

func (s *Store) Delete(ctx context.Context, key string) error {
	n, err := name(key)
	if err != nil {
		return err
	}
	if err := s.refuseEscapingLink(n); err != nil {
		return fmt.Errorf("delete %w", err)
	}
	if err := s.root.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// info describes a file. Its Version is size, modification time and inode
// number: an edit in place changes the first two, and every Put makes a new
// file, so a new inode, which matters because the kernel's clock for
// modification times moves in steps of milliseconds: two Puts of the same
// size in one step have the same time.
func info(key string, fi fs.FileInfo) store.Info {
	v := strconv.FormatInt(fi.Size(), 10) + "-" + strconv.FormatInt(fi.ModTime().UnixNano(), 10)
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		v += "-" + strconv.FormatUint(uint64(st.Ino), 10)
	}
	return store.Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), Version: v}
}

func notFound(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%s: %w", key, store.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", key, err)
}

// contextReader stops a copy when its context ends.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

var _ store.Store = (*Store)(nil)
