package s3

import (
	"fmt"
	"os"
	"time"
)

// Defaults of Options.
const (
	DefaultStallTimeout = 30 * time.Second
	DefaultCallTimeout  = 60 * time.Second
)

// Options bound how long the store waits on S3. A zero field takes its
// default.
type Options struct {
	// StallTimeout is how long a connection may go without a byte sent or
	// received before the call on it fails; it also bounds dialing, the TLS
	// handshake and the wait for a response head. A call that timed out is
	// not retried (see retryer), so a stall costs one StallTimeout. Default
	// DefaultStallTimeout; New reads FIELDFLOW_S3_STALL_TIMEOUT.
	StallTimeout time.Duration
	// CallTimeout bounds, retries included, every call whose request and
	// response are small (HeadObject, a page of ListObjectsV2, DeleteObject,
	// Create, Complete and AbortMultipartUpload). Calls that stream a body
	// (GetObject, PutObject, UploadPart) last as long as bytes keep moving.
	// It must exceed the longest CompleteMultipartUpload, which S3 may take
	// minutes over for a very large object (sending spaces meanwhile).
	// Default DefaultCallTimeout; New reads FIELDFLOW_S3_CALL_TIMEOUT.
	CallTimeout time.Duration
	// Endpoint, when set, replaces the endpoint of the AWS configuration
	// (AWS_ENDPOINT_URL) and, as that does, turns on path-style requests.
	Endpoint string
}

func (o Options) withDefaults() Options {
	if o.StallTimeout == 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	return o
}

// optionsFromEnv reads the timeouts from the environment: Go durations
// ("45s", "2m").
func optionsFromEnv() (Options, error) {
	var o Options
	for _, v := range []struct {
		name string
		dst  *time.Duration
	}{
		{"FIELDFLOW_S3_STALL_TIMEOUT", &o.StallTimeout},
		{"FIELDFLOW_S3_CALL_TIMEOUT", &o.CallTimeout},
	} {
		s := os.Getenv(v.name)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return Options{}, fmt.Errorf("%s=%q: want a positive Go duration such as 30s or 2m", v.name, s)
		}
		*v.dst = d
	}
	return o.withDefaults(), nil
}
