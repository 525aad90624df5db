package kubelet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeLog writes a container log of lines "out N" (stdout) and "err N"
// (stderr), one second apart from t0.
func writeLog(t *testing.T, path string, t0 time.Time, n int) {
	t.Helper()
	l, err := createLogFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clock := t0
	l.now = func() time.Time { return clock }
	out, errs := l.stream(streamStdout), l.stream(streamStderr)
	for i := range n {
		clock = t0.Add(time.Duration(i) * time.Second)
		w, name := out, "out"
		if i%2 == 1 {
			w, name = errs, "err"
		}
		if _, err := w.Write([]byte(name + " " + string(rune('0'+i)) + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCopyLog reads a finished container's log with the options the API
// server forwards.
func TestCopyLog(t *testing.T) {
	t0 := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), containerLogName)
	writeLog(t, path, t0, 5) // out 0, err 1, out 2, err 3, out 4
	for _, tc := range []struct {
		name  string
		query string
		want  string
	}{
		{"all", "", "out 0\nerr 1\nout 2\nerr 3\nout 4\n"},
		{"tail", "tailLines=2", "err 3\nout 4\n"},
		{"tail zero", "tailLines=0", ""},
		{"tail more than there are", "tailLines=9", "out 0\nerr 1\nout 2\nerr 3\nout 4\n"},
		{"limit", "limitBytes=8", "out 0\ner"},
		{"tail and limit", "tailLines=2&limitBytes=6", "err 3\n"},
		{"since time", "sinceTime=2025-06-02T10:00:03Z", "err 3\nout 4\n"},
		{"stdout", "stream=Stdout", "out 0\nout 2\nout 4\n"},
		{"stderr", "stream=Stderr&tailLines=1", "err 3\n"},
		{"timestamps", "timestamps=true&tailLines=1", "2025-06-02T10:00:04Z out 4\n"},
		{"follow of an ended container", "follow=true&tailLines=1", "out 4\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseLogOptions(query(t, tc.query), t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			if err := copyLog(context.Background(), &got, path, closedCh, o); err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Errorf("got %q, want %q", got.String(), tc.want)
			}
		})
	}
}

// TestCopyLogFollow follows a running container: lines written after the
// request arrive, and the stream ends when the container does.
func TestCopyLogFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), containerLogName)
	done := make(chan struct{})
	o, err := parseLogOptions(query(t, "follow=true"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	var buf syncBuffer
	go func() {
		err := copyLog(context.Background(), &buf, path, done, o)
		if err != nil {
			t.Error(err)
		}
		got <- buf.String()
	}()
	time.Sleep(2 * followPoll) // the follower waits for the file
	l, err := createLogFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w := l.stream(streamStdout)
	w.Write([]byte("first\nsec"))
	time.Sleep(2 * followPoll)
	if s := buf.String(); s != "first\n" {
		t.Errorf("while running: %q, want the finished line only", s)
	}
	w.Write([]byte("ond"))
	w.Close() // the process ended mid-line
	l.Close()
	close(done)
	select {
	case s := <-got:
		if s != "first\nsecond\n" {
			t.Errorf("followed %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end with the container")
	}
}

// TestStreamWriterSplitsLongLines writes a line longer than a runtime
// keeps whole: it arrives in parts and reads back as one line.
func TestStreamWriterSplitsLongLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), containerLogName)
	l, err := createLogFile(path)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", maxLine+10)
	l.stream(streamStdout).Write([]byte(long + "\n"))
	l.Close()
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), " stdout P "); n != 1 {
		t.Errorf("%d partial lines, want 1", n)
	}
	var got strings.Builder
	if err := copyLog(context.Background(), &got, path, closedCh, logOptions{tailLines: -1, limitBytes: -1}); err != nil {
		t.Fatal(err)
	}
	if got.String() != long+"\n" {
		t.Errorf("read back %d bytes, want %d", got.Len(), len(long)+1)
	}
}
