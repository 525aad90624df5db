package local

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/fieldflow/fieldflow/processor/store"
)

// xattrPrefix names the extended attributes that hold an object's
// metadata: user.fieldflow.<key>. They belong to the file, not its name, so
// they survive a rename: Put sets them on the temporary file, and a file
// moved by hand keeps them.
const xattrPrefix = "user.fieldflow."

// writeMetadata sets meta on f, the open temporary file.
func writeMetadata(f *os.File, meta store.Metadata) error {
	for k, v := range meta {
		err := control(f, func(fd int) error {
			return unix.Fsetxattr(fd, xattrPrefix+k, []byte(v), 0)
		})
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("metadata needs extended attributes (user.*), which this file system does not keep: %w", err)
		}
		if err != nil {
			return fmt.Errorf("set metadata %s: %w", k, err)
		}
	}
	return nil
}

// readMetadata returns f's metadata, nil when it has none or its file
// system keeps no extended attributes.
func readMetadata(f *os.File) (store.Metadata, error) {
	var meta store.Metadata
	err := control(f, func(fd int) error {
		names, err := listXattr(fd)
		if err != nil {
			return err
		}
		for _, n := range names {
			k, ok := strings.CutPrefix(n, xattrPrefix)
			if !ok {
				continue
			}
			v, err := getXattr(fd, n)
			if errors.Is(err, unix.ENODATA) {
				continue // removed meanwhile
			}
			if err != nil {
				return err
			}
			if meta == nil {
				meta = store.Metadata{}
			}
			meta[k] = string(v)
		}
		return nil
	})
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read metadata: %w", err)
	}
	return meta, nil
}

// listXattr returns the names of fd's extended attributes. Sizes are asked
// first; an attribute added in between makes the kernel answer ERANGE, and
// the question is asked again.
func listXattr(fd int) ([]string, error) {
	b, err := sized(func(b []byte) (int, error) { return unix.Flistxattr(fd, b) })
	if err != nil {
		return nil, err
	}
	var names []string
	for n := range bytes.SplitSeq(b, []byte{0}) {
		if len(n) > 0 {
			names = append(names, string(n))
		}
	}
	return names, nil
}

func getXattr(fd int, name string) ([]byte, error) {
	return sized(func(b []byte) (int, error) { return unix.Fgetxattr(fd, name, b) })
}

// sized calls get with nil to learn the size, then with a buffer of it.
func sized(get func([]byte) (int, error)) ([]byte, error) {
	for {
		n, err := get(nil)
		if err != nil || n == 0 {
			return nil, err
		}
		b := make([]byte, n)
		n, err = get(b)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return b[:n], nil
	}
}
