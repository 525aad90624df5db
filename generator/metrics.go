package generator

import (
	"encoding/json"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// CustomMetric is one of the metrics the templates declare. Argo exposes
// each as argo_workflows_<Name> (counters with a _total suffix); the
// dashboard and its test use this table.
type CustomMetric struct {
	Name   string
	Help   string
	Type   string // counter or histogram
	Labels []string
}

// Metric names, all with the same help wherever they appear, as Prometheus
// requires.
var (
	RunsMetric = CustomMetric{
		Name: "fieldflow_runs", Type: "counter", Labels: []string{"asset", "result"},
		Help: "fieldflow runs by asset and result (processed, waiting, out-of-range, quarantined, failed)",
	}
	DurationMetric = CustomMetric{
		Name: "fieldflow_process_duration_seconds", Type: "histogram", Labels: []string{"asset"},
		Help: "Seconds a successful fieldflow process step took",
	}
	RecordsMetric = CustomMetric{
		Name: "fieldflow_records_processed", Type: "counter", Labels: []string{"asset"},
		Help: "Records fieldflow wrote to outputs",
	}
)

// CustomMetrics lists every custom metric.
var CustomMetrics = []CustomMetric{RunsMetric, DurationMetric, RecordsMetric}

var durationBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}

func has(a *pipeline.Asset, m pipeline.Metric) bool {
	for _, x := range a.Metrics {
		if x == m {
			return true
		}
	}
	return false
}

func labelsOf(kv ...string) []*wfv1.MetricLabel {
	var out []*wfv1.MetricLabel
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, &wfv1.MetricLabel{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

// processMetrics counts a process step by result and, when it succeeds,
// records its duration and records. Exit code 2 is invalid input: the file
// was quarantined.
func processMetrics(a *pipeline.Asset) *wfv1.Metrics {
	var ms []*wfv1.Prometheus
	if has(a, pipeline.MetricRuns) {
		for _, r := range []struct{ result, when string }{
			{"processed", "{{status}} == Succeeded"},
			{"quarantined", "{{status}} != Succeeded && {{exitCode}} == 2"},
			{"failed", "{{status}} != Succeeded && {{exitCode}} != 2"},
		} {
			ms = append(ms, &wfv1.Prometheus{
				Name: RunsMetric.Name, Help: RunsMetric.Help, When: r.when,
				Labels:  labelsOf("asset", a.Name, "result", r.result),
				Counter: &wfv1.Counter{Value: "1"},
			})
		}
	}
	if has(a, pipeline.MetricDuration) {
		var buckets []wfv1.Amount
		for _, b := range durationBuckets {
			buckets = append(buckets, wfv1.Amount{Value: json.Number(formatFloat(b))})
		}
		ms = append(ms, &wfv1.Prometheus{
			Name: DurationMetric.Name, Help: DurationMetric.Help, When: "{{status}} == Succeeded",
			Labels:    labelsOf("asset", a.Name),
			Histogram: &wfv1.Histogram{Value: "{{duration}}", Buckets: buckets},
		})
	}
	if has(a, pipeline.MetricRecords) {
		ms = append(ms, &wfv1.Prometheus{
			Name: RecordsMetric.Name, Help: RecordsMetric.Help, When: "{{status}} == Succeeded",
			Labels:  labelsOf("asset", a.Name),
			Counter: &wfv1.Counter{Value: "{{outputs.parameters.records}}"},
		})
	}
	if len(ms) == 0 {
		return nil
	}
	return &wfv1.Metrics{Prometheus: ms}
}

// notReadyMetrics counts a run that found its file waiting or out of
// range, with the state the check reported as the result.
func notReadyMetrics(a *pipeline.Asset) *wfv1.Metrics {
	if !has(a, pipeline.MetricRuns) {
		return nil
	}
	return &wfv1.Metrics{Prometheus: []*wfv1.Prometheus{{
		Name: RunsMetric.Name, Help: RunsMetric.Help, When: "{{status}} == Succeeded",
		Labels:  labelsOf("asset", a.Name, "result", "{{outputs.parameters.state}}"),
		Counter: &wfv1.Counter{Value: "1"},
	}}}
}

func formatFloat(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}
