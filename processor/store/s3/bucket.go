package s3

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ErrNoBucket matches the error of a call on a bucket that does not exist:
// a store opened on a bucket nobody created, or one deleted since. New does
// not create it: a bucket has settings (region, versioning, notifications,
// lifecycle) that are the owner's to choose.
var ErrNoBucket = errors.New("no such bucket")

// NoBucketError says which bucket is missing where, and how to create it,
// in one line: a new user's first `fieldflow sample --store s3://NAME`
// against a fresh MinIO otherwise ends in the server's bare NoSuchBucket.
// It matches ErrNoBucket and unwraps to the server's error.
type NoBucketError struct {
	Bucket   string
	Endpoint string // the custom endpoint (MinIO); "" for AWS S3
	Region   string
	Err      error
}

func (e *NoBucketError) Error() string {
	if e.Endpoint == "" {
		return fmt.Sprintf("bucket %q does not exist in AWS S3 region %s; create it first: aws s3 mb s3://%s --region %s",
			e.Bucket, e.Region, e.Bucket, e.Region)
	}
	return fmt.Sprintf("bucket %q does not exist at %s; create it first: aws s3 mb s3://%s --endpoint-url %s (or mc mb ALIAS/%s)",
		e.Bucket, e.Endpoint, e.Bucket, e.Endpoint, e.Bucket)
}

func (e *NoBucketError) Is(target error) bool { return target == ErrNoBucket }
func (e *NoBucketError) Unwrap() error        { return e.Err }

// CheckBucket makes one small call on the bucket so that a store on a
// bucket that does not exist fails when it is opened, with a NoBucketError,
// rather than on whatever call comes first. Any other failure (wrong
// credentials, an endpoint that does not answer, a bucket in another
// region) is returned with the server's own words.
//
// It lists at most one key rather than calling HeadBucket: both need the
// same permission (s3:ListBucket, which every store needs for List), but the
// answer to a HEAD has no body, so a 403 would say "Forbidden" where a
// listing says SignatureDoesNotMatch or InvalidAccessKeyId.
func (s *Store) CheckBucket(ctx context.Context) error {
	_, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, MaxKeys: aws.Int32(1)})
	if err == nil {
		return nil
	}
	if nb := s.noBucket(err); nb != nil {
		return nb
	}
	return fmt.Errorf("%s: check the bucket at %s: %w", s, s.where(), err)
}

// noBucket is err as a NoBucketError when the server said the bucket does
// not exist, else nil. Only an error body says so: the 404 of a HEAD
// (HeadObject) has none and cannot tell a missing bucket from a missing key.
func (s *Store) noBucket(err error) error {
	var nsb *types.NoSuchBucket
	var api smithy.APIError
	if errors.As(err, &nsb) || errors.As(err, &api) && api.ErrorCode() == "NoSuchBucket" {
		return &NoBucketError{Bucket: s.bucket, Endpoint: s.endpoint, Region: s.region, Err: err}
	}
	return nil
}

// where names the server in messages.
func (s *Store) where() string {
	if s.endpoint == "" {
		return "AWS S3 region " + s.region
	}
	return s.endpoint
}
