package metrics

import (
	"net/http"
	"testing"
)

// TestProfilingOnlyWhenAsked: /debug/pprof/ answers 404 unless profiling
// is on; /metrics answers either way.
func TestProfilingOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		profiling bool
		path      string
		want      int
	}{
		{false, "/metrics", http.StatusOK},
		{false, "/debug/pprof/", http.StatusNotFound},
		{false, "/debug/pprof/goroutine?debug=1", http.StatusNotFound},
		{true, "/debug/pprof/", http.StatusOK},
		{true, "/metrics", http.StatusOK},
	} {
		addr, err := Serve(t.Context(), "127.0.0.1:0", tc.profiling)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get("http://" + addr.String() + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("profiling %v: GET %s: %d, want %d", tc.profiling, tc.path, resp.StatusCode, tc.want)
		}
	}
}
