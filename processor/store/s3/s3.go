// Package s3 is a store.Store on an S3 bucket: AWS S3, or MinIO and other
// S3-compatible servers named by AWS_ENDPOINT_URL.
//
// Credentials, region and endpoint come from the standard AWS sources
// (environment, shared config, the pod's web identity or instance role), so
// nothing secret is ever passed on a command line or written to a manifest.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/fieldflow/fieldflow/processor/store"
)

// Upload tuning: parts are buffered in memory, so PartSize times
// (Concurrency+1) bounds what a streamed upload holds. 8 MiB parts allow
// objects up to 80 GB (10,000 parts).
const (
	PartSize    = 8 << 20
	Concurrency = 2
)

// Store is a bucket.
type Store struct {
	client   *s3.Client
	bucket   string
	uploader *manager.Uploader
}

// New connects to bucket with the default AWS configuration. When
// AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) is set, as for MinIO, requests
// use path-style addressing.
func New(ctx context.Context, bucket string) (*Store, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("s3 store %s: load AWS config: %w", bucket, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // MinIO's default; AWS redirects are not followed by the SDK
	}
	custom := os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = custom
	})
	return NewWithClient(client, bucket), nil
}

// NewWithClient wraps a configured client.
func NewWithClient(client *s3.Client, bucket string) *Store {
	up := manager.NewUploader(client, func(u *manager.Uploader) {
		u.PartSize = PartSize
		u.Concurrency = Concurrency
		u.LeavePartsOnError = false
	})
	return &Store{client: client, bucket: bucket, uploader: up}
}

func (s *Store) String() string { return "s3://" + s.bucket }

// Bucket is the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// Client exposes the SDK client for callers that need more than Store.
func (s *Store) Client() *s3.Client { return s.client }

func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, store.Info, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, store.Info{}, s.wrap("get", key, err)
	}
	return out.Body, store.Info{
		Key:     key,
		Size:    aws.ToInt64(out.ContentLength),
		ModTime: aws.ToTime(out.LastModified),
		Version: aws.ToString(out.ETag),
	}, nil
}

func (s *Store) Stat(ctx context.Context, key string) (store.Info, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return store.Info{}, s.wrap("head", key, err)
	}
	return store.Info{
		Key:     key,
		Size:    aws.ToInt64(out.ContentLength),
		ModTime: aws.ToTime(out.LastModified),
		Version: aws.ToString(out.ETag),
	}, nil
}

// Put streams r with a multipart upload (a single PUT when it fits in one
// part). S3 makes the object visible only when the upload completes; on any
// error the uploader aborts it and no part is kept.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, meta store.Metadata) error {
	_, err := s.uploader.Upload(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: r})
	if err != nil {
		return s.wrap("put", key, err)
	}
	return nil
}

func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[store.Info, error] {
	return func(yield func(store.Info, error) bool) {
		pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				yield(store.Info{}, s.wrap("list", prefix, err))
				return
			}
			for _, o := range page.Contents {
				info := store.Info{
					Key:     aws.ToString(o.Key),
					Size:    aws.ToInt64(o.Size),
					ModTime: aws.ToTime(o.LastModified),
					Version: aws.ToString(o.ETag),
				}
				if strings.HasSuffix(info.Key, "/") {
					continue // a folder marker made by a console
				}
				if !yield(info, nil) {
					return
				}
			}
		}
	}
}

func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return s.wrap("delete", key, err)
	}
	return nil
}

func (s *Store) wrap(op, key string, err error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var api smithy.APIError
	if errors.As(err, &nsk) || errors.As(err, &nf) || (errors.As(err, &api) && api.ErrorCode() == "NotFound") {
		return fmt.Errorf("%s s3://%s/%s: %w", op, s.bucket, key, store.ErrNotFound)
	}
	return fmt.Errorf("%s s3://%s/%s: %w", op, s.bucket, key, err)
}

var _ store.Store = (*Store)(nil)
