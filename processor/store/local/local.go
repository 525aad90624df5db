// Package local is a store.Store on a folder: the key is the path of the
// file relative to the folder. Writes go to a hidden temporary file that is
// synced and renamed, so a crash never leaves a partial object.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/fieldflow/fieldflow/processor/store"
)

// tempPrefix starts the name of every file being written. Listing skips
// them, and no input pattern can match a name starting with a dot.
const tempPrefix = ".fieldflow-"

const copyBuffer = 1 << 20

// Store is a folder of objects.
type Store struct {
	root string
}

// New returns a store rooted at dir, creating the folder.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("local store: %w", err)
	}
	return &Store{root: abs}, nil
}

func (s *Store) String() string { return s.root }

// Root is the folder the store writes to.
func (s *Store) Root() string { return s.root }

func (s *Store) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || !fs.ValidPath(key) {
		return "", fmt.Errorf("key %q is not a clean relative path", key)
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, store.Info, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, store.Info{}, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, store.Info{}, notFound(key, err)
	}
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		f.Close()
		return nil, store.Info{}, notFound(key, fs.ErrNotExist)
	}
	return f, info(key, fi), nil
}

func (s *Store) Stat(ctx context.Context, key string) (store.Info, error) {
	p, err := s.path(key)
	if err != nil {
		return store.Info{}, err
	}
	fi, err := os.Stat(p)
	if err == nil && fi.IsDir() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return store.Info{}, notFound(key, err)
	}
	return info(key, fi), nil
}

func (s *Store) Put(ctx context.Context, key string, r io.Reader, meta store.Metadata) (err error) {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// Large writes: the default 32 KiB copy costs a syscall and a pipe
	// hand-off per 32 KiB when r is a processing pass.
	buf := make([]byte, copyBuffer)
	if _, err := io.CopyBuffer(struct{ io.Writer }{f}, contextReader{ctx, r}, buf); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("put %s: sync: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[store.Info, error] {
	return func(yield func(store.Info, error) bool) {
		// Walk from the deepest folder the prefix names; the rest of the
		// prefix filters names.
		dir := prefix[:strings.LastIndex(prefix, "/")+1]
		start := filepath.Join(s.root, filepath.FromSlash(dir))
		err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // vanished while walking, or the prefix names no folder
				}
				return err
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			rel, _ := filepath.Rel(s.root, p)
			key := filepath.ToSlash(rel)
			if d.IsDir() {
				if p != start && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(d.Name(), tempPrefix) || !strings.HasPrefix(key, prefix) || !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
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
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

func info(key string, fi fs.FileInfo) store.Info {
	return store.Info{
		Key:     key,
		Size:    fi.Size(),
		ModTime: fi.ModTime(),
		Version: strconv.FormatInt(fi.Size(), 10) + "-" + strconv.FormatInt(fi.ModTime().UnixNano(), 10),
	}
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
