// Package s3 is a store.Store on an S3 bucket: AWS S3, or MinIO and other
// S3-compatible servers named by AWS_ENDPOINT_URL.
//
// Credentials, region and endpoint come from the standard AWS sources
// (environment, shared config, the pod's web identity or instance role), so
// nothing secret is ever passed on a command line or written to a manifest.
//
// Every call has a deadline (see Options): a server that stops answering
// fails a call within StallTimeout, and a small call within CallTimeout,
// whatever the SDK retries.
package s3

import (
	"context"
	"errors"
	"fmt"
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
	endpoint string // the custom endpoint, "" for AWS S3: for messages
	region   string
	uploader *manager.Uploader
}

// New connects to bucket with the default AWS configuration and the
// timeouts of FIELDFLOW_S3_STALL_TIMEOUT and FIELDFLOW_S3_CALL_TIMEOUT
// (defaults where unset). When AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) is
// set, as for MinIO, requests use path-style addressing.
//
// New makes no call: a store on a bucket yet to be created is fine. Call
// CheckBucket to learn whether the bucket exists.
func New(ctx context.Context, bucket string) (*Store, error) {
	opt, err := optionsFromEnv()
	if err != nil {
		return nil, fmt.Errorf("s3 store %s: %w", bucket, err)
	}
	return NewWithOptions(ctx, bucket, opt)
}

// NewWithOptions is New with opt instead of the environment's timeouts.
func NewWithOptions(ctx context.Context, bucket string, opt Options) (*Store, error) {
	opt = opt.withDefaults()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(retryer))
	if err != nil {
		return nil, fmt.Errorf("s3 store %s: load AWS config: %w", bucket, err)
	}
	cfg.HTTPClient = httpClient(cfg.HTTPClient, opt)
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // MinIO's default; AWS redirects are not followed by the SDK
	}
	custom := opt.Endpoint != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = custom
		if opt.Endpoint != "" {
			o.BaseEndpoint = aws.String(opt.Endpoint)
		}
		o.APIOptions = append(o.APIOptions, callDeadline(opt.CallTimeout))
		// Info.Checksum says what a read is verified against; the SDK
		// would log each GET it does not check itself.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	up := manager.NewUploader(client, func(u *manager.Uploader) {
		u.PartSize = PartSize
		u.Concurrency = Concurrency
		u.ClientOptions = append(u.ClientOptions, func(o *s3.Options) {
			o.APIOptions = append(o.APIOptions, fullObjectChecksum)
		})
		// Put aborts a failed upload itself: the manager would abort with
		// the caller's context, which is cancelled when that is the failure.
		u.LeavePartsOnError = true
	})
	endpoint := aws.ToString(client.Options().BaseEndpoint)
	return &Store{client: client, bucket: bucket, endpoint: endpoint, region: cfg.Region, uploader: up}, nil
}

func (s *Store) String() string { return "s3://" + s.bucket }

// Bucket is the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// Client exposes the SDK client for callers that need more than Store.
func (s *Store) Client() *s3.Client { return s.client }

// url names key in messages.
func (s *Store) url(key string) string { return "s3://" + s.bucket + "/" + key }

func (s *Store) Stat(ctx context.Context, key string) (store.Info, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket:       &s.bucket,
		Key:          &key,
		ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		return store.Info{}, s.wrap("head", key, err)
	}
	return headObject(out).info(key), nil
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

// wrap names the call and the key in err, and maps S3's "not found"
// answers to store.ErrNotFound (a key) or a NoBucketError (the bucket).
func (s *Store) wrap(op, key string, err error) error {
	if nb := s.noBucket(err); nb != nil {
		return fmt.Errorf("%s %s: %w", op, s.url(key), nb)
	}
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var api smithy.APIError
	if errors.As(err, &nsk) || errors.As(err, &nf) || (errors.As(err, &api) && api.ErrorCode() == "NotFound") {
		return fmt.Errorf("%s %s: %w", op, s.url(key), store.ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, s.url(key), err)
}

var _ store.Store = (*Store)(nil)
