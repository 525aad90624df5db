package events

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// MetricsSocket is where a child serves Argo Events' metrics.
const MetricsSocket = "metrics.sock"

// Gatherer gathers the argo_events_* metrics of the event path's running
// children under stateDir, for the engine's /metrics: in a cluster
// Prometheus scrapes each pod; here one address serves all. A child that
// is restarting is skipped.
func Gatherer(stateDir string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		socks, _ := filepath.Glob(filepath.Join(names.EventsDir(stateDir), "*", MetricsSocket))
		var out []*dto.MetricFamily
		for _, sock := range socks {
			out = append(out, scrape(sock)...)
		}
		return out, nil
	})
}

// scrape reads one child's metrics, nothing when it does not answer.
func scrape(sock string) []*dto.MetricFamily {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := c.Get("http://child/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil
	}
	out := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		out = append(out, f)
	}
	return out
}
