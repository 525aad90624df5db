// Package store is the one interface fieldflow reads and writes objects
// through. Each backend lives in a package of its own: local (a folder) and
// s3 (AWS S3, MinIO and other S3-compatible servers).
package store

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// ErrNotFound is returned (wrapped) for a key that holds no object.
var ErrNotFound = errors.New("not found")

// Info describes one object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
	// Version changes whenever the object's content may have: the ETag in S3,
	// size and modification time on a disk. Reports record it so that a
	// re-uploaded file is told from the one they describe.
	Version string
}

// Store holds objects by key. Keys use "/" as separator and are checked by
// pipeline.CheckKey before they get here.
type Store interface {
	// Open streams an object's content together with the Info of exactly
	// the version being read.
	Open(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Stat describes an object without reading it.
	Stat(ctx context.Context, key string) (Info, error)
	// Put streams r into key. The object appears whole when r reaches EOF,
	// or not at all: if reading r fails, or ctx ends, nothing is left
	// behind and an older object under key stays as it was.
	Put(ctx context.Context, key string, r io.Reader) error
	// List yields every object whose key starts with prefix. The prefix
	// need not end at a "/"; listing continues past any page size.
	List(ctx context.Context, prefix string) iter.Seq2[Info, error]
	// Delete removes an object; deleting a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// String names the store for logs and messages.
	String() string
}
