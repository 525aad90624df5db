// Package metrics serves the registry Argo's controller reports to, and
// Go's profiler only when asked for.
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// Listen opens the metrics address: addr when named (taken, it fails at
// once, before the engine starts anything), else names.DefaultMetricsAddr, or a free
// loopback port when another engine on this machine has that one.
func Listen(addr string) (net.Listener, error) {
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
		}
		return l, nil
	}
	if l, err := net.Listen("tcp", names.DefaultMetricsAddr); err == nil {
		return l, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	slog.Info("metrics: the default address is taken (another engine?), serving on a free port", "default", names.DefaultMetricsAddr, "addr", l.Addr())
	return l, nil
}

// Serve serves /metrics on l, a loopback address: the controller's own
// server would listen on every interface. With profiling, /debug/pprof/
// too: off by default, since a profile or a goroutine dump shows any local
// process the engine's internals, and a CPU profile costs the engine time.
// It returns the address served, and stops when ctx ends. More gatherers
// (the event path's processes) are served beside the controller's.
func Serve(ctx context.Context, l net.Listener, profiling bool, more ...prometheus.Gatherer) net.Addr {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(append(prometheus.Gatherers{prometheus.DefaultGatherer}, more...), promhttp.HandlerOpts{}))
	if profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	go func() { <-ctx.Done(); srv.Close() }()
	slog.Info("metrics", "url", "http://"+l.Addr().String()+"/metrics", "pprof", profiling)
	return l.Addr()
}
