package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
)

// httpClient is the SDK's HTTP client: every connection fails a call that
// goes StallTimeout without a byte in either direction (idleConn), and
// dialing, the TLS handshake and the wait for a response head have the same
// bound. It starts from the transport of base, the configuration's client,
// which carries the SDK's defaults and the certificates of AWS_CA_BUNDLE.
//
// It is a plain http.Client on purpose: the S3 client rebuilds a
// BuildableClient's dialer for some AWS_DEFAULTS_MODE values, which would
// drop idleConn.
func httpClient(base aws.HTTPClient, opt Options) *http.Client {
	b, ok := base.(*awshttp.BuildableClient)
	if !ok {
		b = awshttp.NewBuildableClient()
	}
	tr := b.GetTransport()
	dialer := &net.Dialer{Timeout: opt.StallTimeout, KeepAlive: 30 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &idleConn{Conn: c, timeout: opt.StallTimeout}, nil
	}
	tr.ForceAttemptHTTP2 = false // S3 speaks HTTP/1.1
	tr.TLSHandshakeTimeout = opt.StallTimeout
	tr.ResponseHeaderTimeout = opt.StallTimeout
	// A pooled connection waits in a Read whose deadline would end it after
	// StallTimeout: close it before, cleanly.
	tr.IdleConnTimeout = opt.StallTimeout / 2
	return &http.Client{
		Transport: tr,
		// As the SDK's own client: a redirect is an answer, not a request
		// to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// writeChunk is the most an idleConn writes between renewals of its
// deadline, so that one large Write (an 8 MiB part goes down in a single
// call) on a slow but moving link is not taken for a stall.
const writeChunk = 64 << 10

// idleConn is a connection whose deadline, for both directions, moves
// StallTimeout ahead on every Read and Write: a peer that stops sending or
// stops reading fails the call within StallTimeout, and any progress either
// way (the request body going out while the response is awaited) keeps it
// alive.
type idleConn struct {
	net.Conn
	timeout time.Duration
	// stall is set by the first Read or Write that meets the deadline. The
	// deadline ends both directions at once; whichever fails first, net/http
	// closes the connection, and the other sees "use of closed network
	// connection", which says nothing of a stall (and the SDK retries).
	stall atomic.Bool
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.Conn.SetDeadline(time.Now().Add(c.timeout))
	n, err := c.Conn.Read(p)
	return n, c.stalled(err)
}

func (c *idleConn) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c.Conn.SetDeadline(time.Now().Add(c.timeout))
		m, err := c.Conn.Write(p[n:min(len(p), n+writeChunk)])
		n += m
		if err != nil {
			return n, c.stalled(err)
		}
	}
	return n, nil
}

// stalled turns err into a stallError when the connection stalled.
func (c *idleConn) stalled(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.stall.Store(true)
	}
	if err != nil && c.stall.Load() {
		return &stallError{timeout: c.timeout, err: err}
	}
	return err
}

// stallError is a connection that moved no byte for its StallTimeout. It
// is a net.Error timeout and unwraps to the error the connection returned,
// usually os.ErrDeadlineExceeded.
type stallError struct {
	timeout time.Duration
	err     error
}

func (e *stallError) Error() string {
	return fmt.Sprintf("connection stalled: no byte sent or received for %s", e.timeout)
}
func (e *stallError) Timeout() bool   { return true }
func (e *stallError) Temporary() bool { return false }
func (e *stallError) Unwrap() error   { return e.err }

// retryer is the SDK's standard retryer (3 attempts, jittered backoff of at
// most 2 s then 4 s) except that a call that timed out (a stall, the dial
// or TLS timeout, the wait for the response head) is not retried: it has
// already waited StallTimeout, and the pipeline retries the whole run with
// its own backoff. So a stall costs one StallTimeout per call; a refused or
// reset connection or a 5xx is retried, within CallTimeout where the call
// has one.
func retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(noRetryOnTimeout)}, o.Retryables...)
	})
}

func noRetryOnTimeout(err error) aws.Ternary {
	if timedOut(err) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// timedOut reports whether err is a timeout anywhere in its chain. Asking
// the first error that has a Timeout method is not enough: a *url.Error
// asks only the error it wraps, which for a failed write is net/http's
// "transport connection broken" around the stall.
func timedOut(err error) bool {
	var stall *stallError
	if errors.As(err, &stall) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout() // net/http's header timeout
}

// callDeadline gives every call but those that stream a body a deadline of
// d, retries included. It runs first in the SDK's stack, so it covers the
// calls the upload manager makes too (Create, Complete and
// AbortMultipartUpload).
func callDeadline(d time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("FieldflowCallDeadline",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				switch in.Parameters.(type) {
				case *s3.GetObjectInput, *s3.PutObjectInput, *s3.UploadPartInput:
					return next.HandleInitialize(ctx, in) // bounded by the stall timeout
				}
				ctx, cancel := context.WithTimeout(ctx, d)
				defer cancel()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
}
