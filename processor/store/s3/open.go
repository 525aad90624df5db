package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/fieldflow/fieldflow/processor/store"
)

// Open streams an object. The reader ends in io.EOF only after
// Content-Length bytes whose checksum matched (see object.checksum); a cut,
// a stall or a mismatch is an error wrapping store.ErrIncomplete.
//
// GetObject has no call deadline, as its body takes as long as it takes:
// the wait for the response head is bounded by StallTimeout per attempt,
// and only quick failures (a refused or reset connection, a 5xx) are
// retried, at most twice, after at most 2 s and 4 s.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, store.Info, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket:       &s.bucket,
		Key:          &key,
		ChecksumMode: types.ChecksumModeEnabled,
	})
	if err == nil && out.ContentLength == nil {
		out.Body.Close()
		err = errors.New("response without Content-Length")
	}
	if err != nil {
		return nil, store.Info{}, s.wrap("get", key, err)
	}
	obj := getObject(out)
	body := out.Body
	if c, ok := obj.checksum(); ok {
		body = &digest{ReadCloser: body, checksum: c, hash: c.hash()}
	}
	return store.Verify(body, s.url(key), *out.ContentLength), obj.info(key), nil
}

// object is what GetObject and HeadObject both say about an object.
type object struct {
	size      *int64
	modTime   *time.Time
	etag      *string
	versionID *string
	meta      map[string]string
	sums      map[string]*string // by algorithm, x-amz-checksum-* (base64)
	sumType   types.ChecksumType
	sse       types.ServerSideEncryption
	sseC      *string // SSE-C algorithm
}

func getObject(o *s3.GetObjectOutput) object {
	return object{
		size: o.ContentLength, modTime: o.LastModified, etag: o.ETag, versionID: o.VersionId, meta: o.Metadata,
		sums: map[string]*string{
			"crc32": o.ChecksumCRC32, "crc32c": o.ChecksumCRC32C, "crc64nvme": o.ChecksumCRC64NVME,
			"sha1": o.ChecksumSHA1, "sha256": o.ChecksumSHA256, "sha512": o.ChecksumSHA512, "md5": o.ChecksumMD5,
		},
		sumType: o.ChecksumType, sse: o.ServerSideEncryption, sseC: o.SSECustomerAlgorithm,
	}
}

func headObject(o *s3.HeadObjectOutput) object {
	return object{
		size: o.ContentLength, modTime: o.LastModified, etag: o.ETag, versionID: o.VersionId, meta: o.Metadata,
		sums: map[string]*string{
			"crc32": o.ChecksumCRC32, "crc32c": o.ChecksumCRC32C, "crc64nvme": o.ChecksumCRC64NVME,
			"sha1": o.ChecksumSHA1, "sha256": o.ChecksumSHA256, "sha512": o.ChecksumSHA512, "md5": o.ChecksumMD5,
		},
		sumType: o.ChecksumType, sse: o.ServerSideEncryption, sseC: o.SSECustomerAlgorithm,
	}
}

func (o object) info(key string) store.Info {
	info := store.Info{
		Key:       key,
		Size:      aws.ToInt64(o.size),
		ModTime:   aws.ToTime(o.modTime),
		Version:   aws.ToString(o.etag),
		VersionID: aws.ToString(o.versionID),
	}
	if c, ok := o.checksum(); ok {
		info.Checksum = c.String()
	}
	if len(o.meta) > 0 {
		info.Metadata = store.Metadata(o.meta)
	}
	return info
}

// hashes are the full-object checksums a read can verify, cheapest first.
var hashes = []struct {
	name string
	new  func() hash.Hash
}{
	{"crc32c", func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }},
	{"crc32", func() hash.Hash { return crc32.NewIEEE() }},
	{"crc64nvme", func() hash.Hash { return crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5)) }},
	{"md5", md5.New},
	{"sha1", sha1.New},
	{"sha256", sha256.New},
	{"sha512", sha512.New},
}

// A checksum is the digest an object's whole content must have.
type checksum struct {
	name string
	sum  []byte
	hash func() hash.Hash
}

func (c checksum) String() string { return c.name + ":" + hex.EncodeToString(c.sum) }

// checksum is what a read of o is verified against: a full-object checksum
// S3 keeps (returned because the request asks with ChecksumMode ENABLED),
// else the ETag when it is the MD5 of the content (one PUT, no SSE-KMS or
// SSE-C encryption). A multipart upload's COMPOSITE checksum ("...-N") is a
// checksum of the parts' checksums and its ETag is not an MD5: such an
// object is verified by size only, as the SDK too skips it.
func (o object) checksum() (checksum, bool) {
	if o.sumType != types.ChecksumTypeComposite {
		for _, h := range hashes {
			v := aws.ToString(o.sums[h.name])
			if v == "" || strings.Contains(v, "-") {
				continue
			}
			sum, err := base64.StdEncoding.DecodeString(v)
			if err == nil && len(sum) == h.new().Size() {
				return checksum{h.name, sum, h.new}, true
			}
		}
	}
	etag := strings.Trim(aws.ToString(o.etag), `"`)
	if len(etag) != 2*md5.Size || aws.ToString(o.sseC) != "" || strings.HasPrefix(string(o.sse), "aws:kms") {
		return checksum{}, false
	}
	sum, err := hex.DecodeString(etag)
	if err != nil {
		return checksum{}, false
	}
	return checksum{"md5", sum, md5.New}, true
}

// digest checks at the end of a body that its bytes have the object's
// checksum. The SDK checks the x-amz-checksum ones too (with ChecksumMode
// ENABLED, on io.EOF, with an error "checksum did not match"), but not the
// ETag, and which it picks is its business: digest makes Info.Checksum a
// promise of this package.
type digest struct {
	io.ReadCloser
	checksum
	hash hash.Hash
}

func (d *digest) Read(p []byte) (int, error) {
	n, err := d.ReadCloser.Read(p)
	d.hash.Write(p[:n])
	if err == io.EOF {
		if got := d.hash.Sum(nil); !bytes.Equal(got, d.sum) {
			return n, fmt.Errorf("checksum mismatch: %s of the bytes read is %x, the object's is %x", d.name, got, d.sum)
		}
	}
	return n, err
}
