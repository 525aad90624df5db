package metrics

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
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
		l, err := Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := Serve(t.Context(), l, tc.profiling)
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

// TestListen: no address named, the default or, when another engine has
// it, a free port; a named address that is taken fails, naming the flag.
func TestListen(t *testing.T) {
	first, err := Listen("")
	if err != nil {
		t.Skipf("%s is taken on this machine: %v", names.DefaultMetricsAddr, err)
	}
	defer first.Close()
	if first.Addr().String() != names.DefaultMetricsAddr {
		t.Skipf("%s is taken on this machine (got %s)", names.DefaultMetricsAddr, first.Addr())
	}
	second, err := Listen("")
	if err != nil {
		t.Fatalf("a second engine: %v", err)
	}
	defer second.Close()
	if a := second.Addr().String(); a == names.DefaultMetricsAddr || !strings.HasPrefix(a, "127.0.0.1:") {
		t.Errorf("a second engine serves on %s, want a free loopback port", a)
	}
	if _, err := Listen(names.DefaultMetricsAddr); err == nil || !strings.Contains(err.Error(), "--metrics-addr "+names.DefaultMetricsAddr) {
		t.Errorf("a named address that is taken: %v, want an error naming --metrics-addr", err)
	}
}
