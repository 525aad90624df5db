package kubelet

import (
	"bytes"
	"net/url"
	"sync"
	"testing"
	"time"
)

func query(t *testing.T, q string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestParseLogOptions accepts what the API server forwards and refuses
// what the kubelet refuses.
func TestParseLogOptions(t *testing.T) {
	now := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		query   string
		want    logOptions
		wantErr bool
	}{
		{query: "", want: logOptions{tailLines: -1, limitBytes: -1}},
		{query: "follow=true&timestamps=true&tailLines=3&limitBytes=10",
			want: logOptions{follow: true, timestamps: true, tailLines: 3, limitBytes: 10}},
		{query: "sinceSeconds=60", want: logOptions{tailLines: -1, limitBytes: -1, since: now.Add(-time.Minute)}},
		{query: "sinceTime=2025-06-02T09:00:00Z", want: logOptions{tailLines: -1, limitBytes: -1, since: now.Add(-time.Hour)}},
		{query: "previous=true&stream=Stderr", want: logOptions{previous: true, tailLines: -1, limitBytes: -1, stream: "Stderr"}},
		{query: "tailLines=-1", wantErr: true},
		{query: "limitBytes=0", wantErr: true},
		{query: "sinceSeconds=0", wantErr: true},
		{query: "sinceSeconds=5&sinceTime=2025-06-02T09:00:00Z", wantErr: true},
		{query: "follow=maybe", wantErr: true},
		{query: "stream=Both", wantErr: true},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got, err := parseLogOptions(query(t, tc.query), now)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err == nil && (got != tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer a test reads while a writer writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
