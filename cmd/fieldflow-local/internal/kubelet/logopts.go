package kubelet

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// logOptions are the query parameters the API server forwards from a
// pods/log request (k8s.io/kubernetes pkg/registry/core/pod.LogLocation).
type logOptions struct {
	follow     bool      // keep streaming until the container ends
	previous   bool      // the previous instance: there is none here
	timestamps bool      // prefix every line with its RFC 3339 time
	since      time.Time // drop lines written before; zero keeps all
	tailLines  int64     // only the last lines; -1 keeps all
	limitBytes int64     // stop after this many bytes; -1 for no limit
	stream     string    // "", All, Stdout or Stderr (feature PodLogsQuerySplitStreams)
}

// parseLogOptions reads and validates the parameters as the kubelet does:
// counts must be positive (tailLines may be 0) and only one of sinceSeconds
// and sinceTime may be set.
func parseLogOptions(q url.Values, now time.Time) (logOptions, error) {
	o := logOptions{tailLines: -1, limitBytes: -1, stream: q.Get("stream")}
	var err error
	for name, dst := range map[string]*bool{"follow": &o.follow, "previous": &o.previous, "timestamps": &o.timestamps} {
		if v := q.Get(name); v != "" {
			if *dst, err = strconv.ParseBool(v); err != nil {
				return o, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	if o.tailLines, err = count(q, "tailLines", 0); err != nil {
		return o, err
	}
	if o.limitBytes, err = count(q, "limitBytes", 1); err != nil {
		return o, err
	}
	secs, err := count(q, "sinceSeconds", 1)
	if err != nil {
		return o, err
	}
	if secs >= 0 && q.Get("sinceTime") != "" {
		return o, fmt.Errorf("at most one of sinceTime or sinceSeconds may be specified")
	}
	if secs >= 0 {
		o.since = now.Add(-time.Duration(secs) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		if o.since, err = time.Parse(time.RFC3339, v); err != nil {
			return o, fmt.Errorf("sinceTime: %w", err)
		}
	}
	switch o.stream {
	case "", "All", "Stdout", "Stderr":
	default:
		return o, fmt.Errorf("stream %q: want All, Stdout or Stderr", o.stream)
	}
	return o, nil
}

// count is a non-negative integer parameter of at least least, or -1 when
// it is not given.
func count(q url.Values, name string, least int64) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if n < least {
		return 0, fmt.Errorf("%s: must be at least %d", name, least)
	}
	return n, nil
}

// selects says whether the options keep a line.
func (o logOptions) selects(l logLine) bool {
	if !o.since.IsZero() && l.time.Before(o.since) {
		return false
	}
	switch o.stream {
	case "Stdout":
		return l.stream == streamStdout
	case "Stderr":
		return l.stream == streamStderr
	}
	return true
}

// format is a line as the client receives it.
func (o logOptions) format(l logLine) []byte {
	var b []byte
	if o.timestamps {
		b = append(l.time.UTC().AppendFormat(b, time.RFC3339Nano), ' ')
	}
	b = append(b, l.content...)
	if l.full {
		b = append(b, '\n')
	}
	return b
}
