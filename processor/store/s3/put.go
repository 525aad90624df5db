package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/fieldflow/fieldflow/processor/store"
)

// Put streams r with meta as user metadata, in a multipart upload (a single
// PUT when it fits in one part). S3 makes the object visible only when the
// upload completes; on any failure, a cancelled ctx included, Put aborts
// the upload so that no part is kept.
//
// A writer killed mid-upload (SIGKILL, out of memory) cannot abort, so Put
// first aborts the incomplete uploads of the same key it finds: fieldflow
// writes each key from one run at a time (the key's mutex), so such an
// upload can only be a dead writer's.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, meta store.Metadata) error {
	if err := meta.Check(); err != nil {
		return fmt.Errorf("put %s: %w", s.url(key), err)
	}
	if err := s.sweep(ctx, key); err != nil {
		return s.wrap("put", key, err)
	}
	_, err := s.uploader.Upload(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: r, Metadata: meta})
	if err == nil {
		return nil
	}
	var failed manager.MultiUploadFailure
	if errors.As(err, &failed) {
		if abortErr := s.abort(ctx, key, failed.UploadID()); abortErr != nil {
			err = fmt.Errorf("%w; and its parts were not removed: %w", err, abortErr)
		}
	} else if sweepErr := s.sweep(context.WithoutCancel(ctx), key); sweepErr != nil {
		// Cancelled while CreateMultipartUpload was answering, the
		// uploader never learnt the upload's ID: look for it.
		err = fmt.Errorf("%w; and an upload it may have begun was not removed: %w", err, sweepErr)
	}
	return s.wrap("put", key, err)
}

// sweep aborts the incomplete multipart uploads of key.
func (s *Store) sweep(ctx context.Context, key string) error {
	pages := s3.NewListMultipartUploadsPaginator(s.client, &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &key})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list incomplete uploads: %w", err)
		}
		for _, u := range page.Uploads {
			if aws.ToString(u.Key) != key {
				continue // a longer key with key as its prefix
			}
			if err := s.abort(ctx, key, aws.ToString(u.UploadId)); err != nil {
				return err
			}
		}
	}
	return nil
}

// abort removes an unfinished multipart upload. It outlives ctx (a pod told
// to stop still cleans up) and has the call deadline.
func (s *Store) abort(ctx context.Context, key, uploadID string) error {
	_, err := s.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
		Bucket:   &s.bucket,
		Key:      &key,
		UploadId: &uploadID,
	})
	var gone *types.NoSuchUpload
	if err != nil && !errors.As(err, &gone) {
		return fmt.Errorf("abort multipart upload %s: %w", uploadID, err)
	}
	return nil
}

// fullObjectChecksum asks S3 to keep the CRC of a multipart upload as a
// checksum of the whole object (ChecksumType FULL_OBJECT), which S3
// combines from the parts' CRCs, rather than a checksum of the parts'
// checksums (COMPOSITE), which no reader can check without the part
// boundaries: so Open verifies what Put uploaded in parts too. The upload
// manager asks for CRC32 by default; SHA checksums cannot be combined and
// are left alone.
func fullObjectChecksum(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("FieldflowFullObjectChecksum",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if c, ok := in.Parameters.(*s3.CreateMultipartUploadInput); ok && c.ChecksumType == "" {
				switch c.ChecksumAlgorithm {
				case types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme:
					c.ChecksumType = types.ChecksumTypeFullObject
				}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}
