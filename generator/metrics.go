package generator

import (
	"encoding/json"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/plugin"
	"github.com/fieldflow/fieldflow/processor/rules"
)

// CustomMetric is one of the metrics the templates declare; the dashboard,
// the alert rules and their tests use this table.
type CustomMetric struct {
	Name   string
	Help   string
	Type   string // counter, gauge or histogram
	Labels []string
}

// ArgoPrefix is what Argo's controller puts before every metric name.
const ArgoPrefix = "argo_workflows_"

// ArgoEventsPrefix is what Argo Events puts before the metrics its
// EventSource and Sensor pods serve (pkg/metrics). They are plain
// Prometheus client counters, so unlike Argo Workflows' they end in
// _total, and each carries the pod's namespace as a label of its own.
const ArgoEventsPrefix = "argo_events_"

// Exposed is the name Prometheus stores the metric under. Argo v3.6+
// exports through OpenTelemetry without counter suffixes or units, so a
// counter has no _total and the name is exactly ArgoPrefix+Name (a
// histogram's series add _bucket, _sum and _count).
func (m CustomMetric) Exposed() string { return ArgoPrefix + m.Name }

// namespaceLabel is on every custom metric: Argo's custom metrics carry
// only the labels a template gives them, and the dashboard filters by
// namespace and joins them to pod metrics, which carry it.
const namespaceLabel = "namespace"

// Metric names, all with the same help wherever they appear, as Prometheus
// requires.
var (
	RunsMetric = CustomMetric{
		Name: "fieldflow_runs", Type: "counter", Labels: []string{namespaceLabel, "asset", "result"},
		Help: "fieldflow runs by asset and result (processed, done, waiting, out-of-range, quarantined, failed)",
	}
	DurationMetric = CustomMetric{
		Name: "fieldflow_process_duration_seconds", Type: "histogram", Labels: []string{namespaceLabel, "asset"},
		Help: "Seconds a successful fieldflow process step took",
	}
	RecordsMetric = CustomMetric{
		Name: "fieldflow_records_processed", Type: "counter", Labels: []string{namespaceLabel, "asset"},
		Help: "Records fieldflow wrote to outputs",
	}
	FilesMetric = CustomMetric{
		Name: "fieldflow_files", Type: "gauge", Labels: []string{namespaceLabel, "state"},
		Help: "fieldflow inputs by state (done, ready, waiting, quarantined, out-of-range, failed) at the last reconcile",
	}
	OldestWaitingMetric = CustomMetric{
		Name: "fieldflow_oldest_waiting_seconds", Type: "gauge", Labels: []string{namespaceLabel},
		Help: "Age in seconds of the oldest waiting fieldflow input at the last reconcile, 0 when none waits",
	}
)

// CustomMetrics lists every custom metric.
var CustomMetrics = []CustomMetric{RunsMetric, DurationMetric, RecordsMetric, FilesMetric, OldestWaitingMetric}

// namespaceRef is the workflow's namespace, as Argo substitutes it into
// metric labels.
const namespaceRef = "{{workflow.namespace}}"

var durationBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}

func has(a *pipeline.Asset, m pipeline.Metric) bool {
	for _, x := range a.Metrics {
		if x == m {
			return true
		}
	}
	return false
}

// labelsOf is the namespace label followed by the pairs in kv.
func labelsOf(kv ...string) []*wfv1.MetricLabel {
	out := []*wfv1.MetricLabel{{Key: namespaceLabel, Value: namespaceRef}}
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, &wfv1.MetricLabel{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

// processMetrics counts a process step by result and, when it succeeds,
// records its duration and records. A run that did not succeed is
// quarantined when its state output says so (the file is invalid), failed
// otherwise: the exit code alone cannot tell, since ExitPermanent also
// means out of range or no such input.
func processMetrics(a *pipeline.Asset) *wfv1.Metrics {
	var ms []*wfv1.Prometheus
	if has(a, pipeline.MetricRuns) {
		for _, r := range []struct{ result, when string }{
			{"processed", succeeded},
			{string(rules.Quarantined), notSucceededWithState("==", rules.Quarantined)},
			{string(rules.Failed), notSucceededWithState("!=", rules.Quarantined)},
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
			Name: DurationMetric.Name, Help: DurationMetric.Help, When: succeeded,
			Labels:    labelsOf("asset", a.Name),
			Histogram: &wfv1.Histogram{Value: "{{duration}}", Buckets: buckets},
		})
	}
	if has(a, pipeline.MetricRecords) {
		ms = append(ms, &wfv1.Prometheus{
			Name: RecordsMetric.Name, Help: RecordsMetric.Help, When: succeeded,
			Labels:  labelsOf("asset", a.Name),
			Counter: &wfv1.Counter{Value: output("records")},
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
		Name: RunsMetric.Name, Help: RunsMetric.Help, When: succeeded,
		Labels:  labelsOf("asset", a.Name, "result", output(plugin.OutputState)),
		Counter: &wfv1.Counter{Value: "1"},
	}}}
}

// runResults are the results a's templates can count: what process ends
// in, and with checks, the states not-ready reports.
func runResults(a *pipeline.Asset) []string {
	out := []string{"processed", "quarantined", "failed"}
	if len(a.Checks) > 0 {
		out = append(out, string(rules.Waiting), string(rules.OutOfRange))
	}
	return out
}

// statusMetrics turns the reconcile's status step into gauges: inputs by
// state and the age of the oldest waiting one, set when the step succeeds.
//
// It also adds zero to every run counter the asset templates can count.
// Argo creates a counter's series at its first increment, and Prometheus'
// increase() cannot see the step from nothing to 1: without a zero first,
// an asset's first failure would never raise the alert.
func statusMetrics(p *pipeline.Pipeline) *wfv1.Metrics {
	var ms []*wfv1.Prometheus
	for _, s := range rules.States {
		ms = append(ms, &wfv1.Prometheus{
			Name: FilesMetric.Name, Help: FilesMetric.Help, When: succeeded,
			Labels: labelsOf("state", string(s)),
			Gauge:  &wfv1.Gauge{Value: output(string(s)), Realtime: ptr(false)},
		})
	}
	ms = append(ms, &wfv1.Prometheus{
		Name: OldestWaitingMetric.Name, Help: OldestWaitingMetric.Help, When: succeeded,
		Labels: labelsOf(),
		Gauge:  &wfv1.Gauge{Value: output(plugin.OutputOldestWaiting), Realtime: ptr(false)},
	})
	for _, a := range p.Assets {
		ms = append(ms, zeroCounters(a)...)
	}
	return &wfv1.Metrics{Prometheus: ms}
}

// zeroCounters adds zero to each of a's counters, so that each exists
// before anything happens to it.
func zeroCounters(a *pipeline.Asset) []*wfv1.Prometheus {
	var ms []*wfv1.Prometheus
	if has(a, pipeline.MetricRuns) {
		for _, r := range runResults(a) {
			ms = append(ms, &wfv1.Prometheus{
				Name: RunsMetric.Name, Help: RunsMetric.Help,
				Labels: labelsOf("asset", a.Name, "result", r), Counter: &wfv1.Counter{Value: "0"},
			})
		}
	}
	if has(a, pipeline.MetricRecords) {
		ms = append(ms, &wfv1.Prometheus{
			Name: RecordsMetric.Name, Help: RecordsMetric.Help,
			Labels: labelsOf("asset", a.Name), Counter: &wfv1.Counter{Value: "0"},
		})
	}
	return ms
}

// succeeded is a metric's condition that the step succeeded.
var succeeded = fmt.Sprintf("{{status}} == %s", wfv1.NodeSucceeded)

// notSucceededWithState is a metric's condition that the step did not
// succeed and its state output (which defaults to failed) compares to
// state by op (== or !=). The state is quoted: out-of-range is no word to
// the condition's evaluator.
func notSucceededWithState(op string, state rules.State) string {
	return fmt.Sprintf("{{status}} != %s && '%s' %s '%s'", wfv1.NodeSucceeded, output(stateOutput), op, state)
}

// output is a metric's reference to the step's output parameter name.
// Plain references only: expression templates ({{=...}}) in a template's
// metrics broke the controller's substitution of the whole template when it
// created the step's first pod ("cannot finish template replacement because
// the result was invalid JSON", seen in the engine tests). A pod that was
// lost reports no outputs, and Argo then skips its metrics with a
// MetricsError on the workflow.
func output(name string) string { return "{{outputs.parameters." + name + "}}" }

func formatFloat(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}
