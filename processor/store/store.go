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

// ErrIncomplete is returned (wrapped) by a read that ended before the
// object's size, whose checksum did not match, or that stalled: the bytes
// read are not the object. It is always worth retrying; a caller must never
// take what it read for the whole file.
var ErrIncomplete = errors.New("incomplete read")

// Info describes one object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
	// Version changes whenever the object's content may have: the ETag in S3,
	// size and modification time on a disk. Listings return it, so it is
	// what tells an input from the one an output or a note was made from.
	Version string
	// VersionID is the S3 version of a versioned bucket's object; empty
	// elsewhere. Set by Open and Stat only.
	VersionID string
	// Checksum is what a read of the object is verified against, as
	// "ALGORITHM:HEX" (crc32, crc32c, crc64nvme, md5, sha1, sha256, sha512),
	// or empty when the store has none (a folder; an S3 object uploaded in
	// parts with a COMPOSITE checksum, a checksum of the parts' checksums).
	// Set by Open and Stat only.
	Checksum string
	// Metadata is the user metadata written with the object by Put (S3 user
	// metadata; extended attributes on a disk), nil when it has none. Set by
	// Open and Stat only.
	Metadata Metadata
}

// Metadata is small user metadata stored with an object: lowercase keys of
// letters, digits and '-', printable ASCII values, 2 kB at most (S3's
// limits); Metadata.Check says exactly, and Put refuses what it rejects.
type Metadata map[string]string

// Store holds objects by key. Keys use "/" as separator and are checked by
// pipeline.CheckKey before they get here.
type Store interface {
	// Open streams an object's content together with the Info of exactly
	// the version being read. The reader returns io.EOF only after exactly
	// Info.Size bytes whose checksum (where the store has one) matched;
	// anything else, a cut connection or a stall included, is an error
	// wrapping ErrIncomplete.
	Open(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Stat describes an object without reading it.
	Stat(ctx context.Context, key string) (Info, error)
	// Put streams r into key with metadata meta (nil for none). The object
	// appears whole when r reaches EOF, or not at all: if reading r fails,
	// or ctx ends, nothing is left behind (no temporary file, no incomplete
	// multipart upload) and an older object under key stays as it was.
	Put(ctx context.Context, key string, r io.Reader, meta Metadata) error
	// List yields every object whose key starts with prefix. The prefix
	// need not end at a "/"; listing continues past any page size.
	List(ctx context.Context, prefix string) iter.Seq2[Info, error]
	// Delete removes an object; deleting a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// String names the store for logs and messages.
	String() string
}
