package local

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// tempPrefix starts the name of every file being written. Listing skips
// them, and no input pattern can match a name starting with a dot.
const tempPrefix = ".fieldflow-"

func isTemp(base string) bool { return strings.HasPrefix(base, tempPrefix) }

// A tempFile is a file being written, under its temporary name, holding an
// exclusive flock for as long as it is open. The lock is what tells a live
// writer's file from one a dead process left: the kernel drops a process's
// locks when it dies, SIGKILL included.
type tempFile struct {
	*os.File
	name string // in the root
}

// createTemp creates and locks a new temporary file in dir.
//
// Creating and locking are two steps, and a sweep in another process can
// take the lock in between and remove the file. The writer then holds a
// lock on a file without a name, so it checks the name still leads to its
// file and starts again if not.
func (s *Store) createTemp(dir string) (*tempFile, error) {
	for range 10 {
		n := path.Join(dir, tempPrefix+strconv.FormatUint(rand.Uint64(), 36))
		f, err := s.root.OpenFile(n, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		locked, err := tryLock(f)
		if err == nil && locked && s.names(n, f) {
			return &tempFile{File: f, name: n}, nil
		}
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("no temporary file of its own in %s: other processes keep removing them", dir)
}

// names reports whether n is still the name of the open file f.
func (s *Store) names(n string, f *os.File) bool {
	byName, err := s.root.Lstat(n)
	if err != nil {
		return false
	}
	open, err := f.Stat()
	return err == nil && os.SameFile(byName, open)
}

// sweep removes the temporary files in dir whose lock it can take: those of
// writers that died. A live writer's file is locked, and left alone. A file
// it cannot judge (another user's, say) stays too: leftovers are worth a
// warning, not a failed write.
func (s *Store) sweep(dir string) {
	d, err := s.root.Open(dir)
	if err != nil {
		return // Put reports what is wrong with dir
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		slog.Warn("local store: cannot look for dead writers' temporary files", "dir", filepath.Join(s.dir, dir), "err", err)
		return
	}
	for _, base := range names {
		if !isTemp(base) {
			continue
		}
		if err := s.removeDead(path.Join(dir, base)); err != nil {
			slog.Warn("local store: cannot remove a temporary file", "file", filepath.Join(s.dir, dir, base), "err", err)
		}
	}
}

// removeDead removes the temporary file n unless a live writer holds it.
func (s *Store) removeDead(n string) error {
	fi, err := s.root.Lstat(n)
	if err != nil || !fi.Mode().IsRegular() {
		return nil // gone already (renamed, or swept by another process), or not ours
	}
	f, err := s.root.Open(n)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	locked, err := tryLock(f)
	if err != nil || !locked {
		return err // a live writer's
	}
	// Between listing and locking, the writer may have renamed its file and
	// another taken the name: remove only what is locked.
	if !s.names(n, f) {
		return nil
	}
	if err := s.root.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// tryLock takes an exclusive flock on f without waiting; false means
// another open file holds it. The lock lasts until f is closed.
func tryLock(f *os.File) (bool, error) {
	var locked bool
	err := control(f, func(fd int) error {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil
		}
		locked = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	return locked, nil
}

// control runs fn on f's file descriptor.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var fnErr error
	if err := rc.Control(func(fd uintptr) { fnErr = fn(int(fd)) }); err != nil {
		return err
	}
	return fnErr
}
