package store

import (
	"fmt"
	"io"
)

// Verify returns rc read so that it keeps Store.Open's promise: io.EOF
// comes only after exactly size bytes. A read that ends early, gives more
// than size bytes or fails in any way (a cut connection, a stall, a checksum
// the layer below found wrong) returns an error wrapping ErrIncomplete and
// the cause, and keeps returning it.
//
// Backends put it on top of whatever checks the content, so that the one
// rule a caller relies on lives in one place. name is used in errors.
func Verify(rc io.ReadCloser, name string, size int64) io.ReadCloser {
	return &verified{rc: rc, name: name, size: size}
}

type verified struct {
	rc   io.ReadCloser
	name string
	size int64
	n    int64
	err  error // sticky: once incomplete, always incomplete
}

func (v *verified) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	v.n += int64(n)
	switch {
	case v.n > v.size:
		v.err = fmt.Errorf("read %s: %w: more than its %d bytes", v.name, ErrIncomplete, v.size)
	case err == io.EOF && v.n < v.size:
		v.err = fmt.Errorf("read %s: %w: ended after %d of %d bytes", v.name, ErrIncomplete, v.n, v.size)
	case err == io.EOF:
		return n, io.EOF
	case err != nil:
		v.err = fmt.Errorf("read %s: %w after %d of %d bytes: %w", v.name, ErrIncomplete, v.n, v.size, err)
	default:
		return n, nil
	}
	return n, v.err
}

func (v *verified) Close() error { return v.rc.Close() }
