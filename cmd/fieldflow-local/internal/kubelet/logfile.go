package kubelet

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"time"
)

// The container log is written as a container runtime writes it for the
// kubelet (the CRI logging format): one line per line of output,
//
//	2025-06-02T10:00:00.123456789Z stdout F the line
//
// with the time it was written, the stream, and F for a full line or P for
// the part of a line the process has not finished. The kubelet's log API
// reads it back to filter by time and stream and to add timestamps.
const (
	streamStdout = "stdout"
	streamStderr = "stderr"
	tagFull      = "F"
	tagPartial   = "P"
)

// logFile is a container's combined stdout and stderr log.
type logFile struct {
	mu  sync.Mutex
	f   *os.File
	now func() time.Time
}

func createLogFile(path string) (*logFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create container log: %w", err)
	}
	return &logFile{f: f, now: time.Now}, nil
}

// stream returns the writer of one stream: it keeps an unfinished line
// until its newline or Close. Each stream needs its own writer.
func (l *logFile) stream(name string) *streamWriter {
	return &streamWriter{log: l, name: name}
}

// writeLine appends one CRI line in a single write, so that a reader
// following the file never sees two streams' lines interleaved.
func (l *logFile) writeLine(stream, tag string, content []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b bytes.Buffer
	b.WriteString(l.now().UTC().Format(time.RFC3339Nano))
	b.WriteString(" " + stream + " " + tag + " ")
	b.Write(content)
	b.WriteByte('\n')
	_, err := l.f.Write(b.Bytes())
	return err
}

func (l *logFile) Close() error { return l.f.Close() }

// maxLine is the longest line written whole; longer ones are split into
// partial lines, as container runtimes split at 16 KiB.
const maxLine = 16 << 10

// streamWriter splits one stream's output into lines.
type streamWriter struct {
	log     *logFile
	name    string
	pending []byte
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		switch {
		case i >= 0 && i <= maxLine:
			if err := w.log.writeLine(w.name, tagFull, w.pending[:i]); err != nil {
				return 0, err
			}
			w.pending = w.pending[i+1:]
		case len(w.pending) > maxLine:
			if err := w.log.writeLine(w.name, tagPartial, w.pending[:maxLine]); err != nil {
				return 0, err
			}
			w.pending = w.pending[maxLine:]
		default:
			w.pending = append([]byte(nil), w.pending...) // drop what the written lines held
			return len(p), nil
		}
	}
}

// Close writes an unfinished last line as a full one: the process has
// ended, so the line has too.
func (w *streamWriter) Close() error {
	if len(w.pending) == 0 {
		return nil
	}
	err := w.log.writeLine(w.name, tagFull, w.pending)
	w.pending = nil
	return err
}

// logLine is one parsed line of a container log.
type logLine struct {
	time    time.Time
	stream  string
	full    bool   // the content ends a line of output
	content []byte // without the newline
}

// parseLogLine parses one line of the file, without its newline.
func parseLogLine(b []byte) (logLine, error) {
	fields := bytes.SplitN(b, []byte(" "), 4)
	if len(fields) < 3 {
		return logLine{}, fmt.Errorf("container log line %q: want time, stream, tag and content", b)
	}
	t, err := time.Parse(time.RFC3339Nano, string(fields[0]))
	if err != nil {
		return logLine{}, fmt.Errorf("container log line time: %w", err)
	}
	l := logLine{time: t, stream: string(fields[1]), full: string(fields[2]) != tagPartial}
	if len(fields) == 4 {
		l.content = fields[3]
	}
	return l, nil
}
