package kubelet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// followPoll is how often a followed log is checked for new lines.
const followPoll = 100 * time.Millisecond

// errLimit ends a copy once limitBytes have been written.
var errLimit = errors.New("limitBytes reached")

// copyLog writes the container log at path to w as o asks. With follow it
// then keeps writing what the container adds until done is closed (its
// process has ended) and the file is drained, or ctx ends.
func copyLog(ctx context.Context, w io.Writer, path string, done <-chan struct{}, o logOptions) error {
	f, err := openLog(ctx, path, done, o.follow)
	if err != nil || f == nil {
		return err
	}
	defer f.Close()
	out := &limitWriter{w: w, left: o.limitBytes}
	r := &lineReader{r: bufio.NewReader(f)}
	err = copyExisting(r, out, o)
	if err == nil && o.follow {
		err = follow(ctx, r, out, done, o)
	}
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

// openLog opens the log, or returns nil when there is none yet and the
// caller does not follow it (or the container has ended without one).
func openLog(ctx context.Context, path string, done <-chan struct{}, follow bool) (*os.File, error) {
	for {
		ended := closed(done)
		f, err := os.Open(path)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open container log: %w", err)
		}
		if !follow || ended {
			return nil, nil
		}
		if err := wait(ctx, done); err != nil {
			return nil, err
		}
	}
}

// copyExisting writes what the log holds now; tailLines keeps only the
// last of the selected lines.
func copyExisting(r *lineReader, out io.Writer, o logOptions) error {
	var tail [][]byte
	for {
		l, ok, err := r.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if !o.selects(l) {
			continue
		}
		b := o.format(l)
		if o.tailLines < 0 {
			if _, err := out.Write(b); err != nil {
				return err
			}
			continue
		}
		tail = append(tail, b)
		if int64(len(tail)) > o.tailLines {
			tail = tail[1:]
		}
	}
	for _, b := range tail {
		if _, err := out.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// follow writes lines as they are added, until the container has ended
// and every line it wrote has been sent.
func follow(ctx context.Context, r *lineReader, out io.Writer, done <-chan struct{}, o logOptions) error {
	for {
		ended := closed(done) // before reading: lines written before the end are all in the file
		for {
			l, ok, err := r.next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if o.selects(l) {
				if _, err := out.Write(o.format(l)); err != nil {
					return err
				}
			}
		}
		if ended {
			return nil
		}
		if err := wait(ctx, done); err != nil {
			return err
		}
	}
}

// wait returns after followPoll, when the container ends, or with ctx's error.
func wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
	case <-time.After(followPoll):
	}
	return nil
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// lineReader reads whole log lines, keeping an unfinished one (a writer
// is in the middle of it) until the rest arrives.
type lineReader struct {
	r       *bufio.Reader
	partial []byte
}

// next returns the next whole line; ok is false at the end of what is
// written so far. A malformed line is skipped, as the kubelet does.
func (lr *lineReader) next() (logLine, bool, error) {
	for {
		b, err := lr.r.ReadBytes('\n')
		lr.partial = append(lr.partial, b...)
		if errors.Is(err, io.EOF) {
			return logLine{}, false, nil
		}
		if err != nil {
			return logLine{}, false, fmt.Errorf("read container log: %w", err)
		}
		line := bytes.TrimSuffix(lr.partial, []byte("\n"))
		lr.partial = nil
		if l, err := parseLogLine(line); err == nil {
			return l, true, nil
		}
	}
}

// limitWriter writes at most left bytes (all when left < 0), then fails
// with errLimit; it flushes after every write so that a followed log
// reaches the client as it is written.
type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	var cut error
	if l.left >= 0 && int64(len(p)) >= l.left {
		p, cut = p[:l.left], errLimit
	}
	n, err := l.w.Write(p)
	if l.left >= 0 {
		l.left -= int64(n)
	}
	if f, ok := l.w.(interface{ Flush() }); ok {
		f.Flush()
	}
	if err != nil {
		return n, err
	}
	return n, cut
}
