package generator

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// DashboardUID is the provisioned dashboard's uid, stable so links to it
// survive a redeploy.
const DashboardUID = "fieldflow"

// Panel kinds.
const (
	kindTimeseries = "timeseries"
	kindStat       = "stat"
	kindBarGauge   = "bargauge"
)

// panelSpec is one dashboard panel: what it shows and how.
type panelSpec struct {
	title, description string
	kind               string
	unit               string
	width, height      uint32
	// alertAt colours a stat or bar red from this value on (0: never).
	alertAt float64
	queries []querySpec
}

// querySpec is one PromQL query of a panel and its legend.
type querySpec struct {
	expr, legend string
	// instant queries give one value for the whole time range (the
	// $__range ones); the others draw a line over time.
	instant bool
}

type rowSpec struct {
	title  string
	panels []panelSpec
}

// nsMatcher selects the dashboard's namespace.
const nsMatcher = `namespace="$namespace"`

// dashboardRows are the dashboard's panels, row by row: what ran and how
// it ended, the files the rules hold back, how fast it goes, the uploads
// Argo Events turned into Workflows, the controller's health, and what the
// runs cost in CPU and memory.
func dashboardRows() []rowSpec {
	return []rowSpec{
		{"Runs", runPanels()},
		{"Files", filePanels()},
		{"Speed", speedPanels()},
		{"Events", eventPanels()},
		{"Argo controller", controllerPanels()},
		{"CPU and memory", resourcePanels()},
	}
}

func runPanels() []panelSpec {
	runs := RunsMetric.Exposed()
	return []panelSpec{
		{title: "Runs by asset and result", kind: kindTimeseries, unit: "short", width: 12, height: 8,
			description: "fieldflow runs ending in each result: processed, done (already, nothing to run), waiting, out-of-range, quarantined (invalid input) and failed (after retries).",
			queries:     []querySpec{{expr: fmt.Sprintf(`sum by (asset, result) (increase(%s{%s}[$__rate_interval]))`, runs, nsMatcher), legend: "{{asset}} {{result}}"}}},
		{title: "Runs in the time range", kind: kindBarGauge, unit: "short", width: 6, height: 8,
			description: "Runs by asset and result over the dashboard's time range.",
			queries:     []querySpec{{expr: fmt.Sprintf(`sum by (asset, result) (increase(%s{%s}[$__range]))`, runs, nsMatcher), legend: "{{asset}} {{result}}", instant: true}}},
		{title: "Failed and quarantined", kind: kindStat, unit: "short", width: 6, height: 8, alertAt: 1,
			description: "Runs that failed after their retries, and inputs quarantined as invalid, over the time range.",
			queries:     []querySpec{{expr: fmt.Sprintf(`sum by (result) (increase(%s{%s, result=~"failed|quarantined"}[$__range]))`, runs, nsMatcher), legend: "{{result}}", instant: true}}},
	}
}

func filePanels() []panelSpec {
	files, oldest := FilesMetric.Exposed(), OldestWaitingMetric.Exposed()
	return []panelSpec{
		{title: "Inputs by state", kind: kindBarGauge, unit: "short", width: 8, height: 8,
			description: "Every input by state at the last reconcile (every few minutes).",
			queries:     []querySpec{{expr: fmt.Sprintf(`sum by (state) (%s{%s})`, files, nsMatcher), legend: "{{state}}", instant: true}}},
		{title: "Files waiting", kind: kindTimeseries, unit: "short", width: 10, height: 8,
			description: "Inputs waiting for a bounding box or an earlier date, at each reconcile.",
			queries:     []querySpec{{expr: fmt.Sprintf(`sum by (state) (%s{%s, state="waiting"})`, files, nsMatcher), legend: "{{state}}"}}},
		{title: "Oldest waiting input", kind: kindStat, unit: "s", width: 6, height: 8, alertAt: waitingTooLong.Seconds(),
			description: "How long the oldest waiting input has been in the bucket. `fieldflow status` says what it waits for.",
			queries:     []querySpec{{expr: fmt.Sprintf(`max(%s{%s})`, oldest, nsMatcher), legend: "oldest"}}},
	}
}

func speedPanels() []panelSpec {
	quantiles := func(bucket, by string) []querySpec {
		var qs []querySpec
		for _, q := range []struct{ quantile, name string }{{"0.5", "p50"}, {"0.95", "p95"}} {
			qs = append(qs, querySpec{
				expr:   fmt.Sprintf(`histogram_quantile(%s, sum by (le, %s) (rate(%s{%s}[$__rate_interval])))`, q.quantile, by, bucket, nsMatcher),
				legend: fmt.Sprintf("%s {{%s}}", q.name, by),
			})
		}
		return qs
	}
	return []panelSpec{
		{title: "Process duration p50 and p95", kind: kindTimeseries, unit: "s", width: 8, height: 8,
			description: "Seconds a successful process step took, by asset.",
			queries:     quantiles(DurationMetric.Exposed()+"_bucket", "asset")},
		{title: "Records per second", kind: kindTimeseries, unit: "suffix: rec/s", width: 8, height: 8,
			description: "Records written to outputs per second, by asset.",
			queries:     []querySpec{{expr: fmt.Sprintf(`sum by (asset) (rate(%s{%s}[$__rate_interval]))`, RecordsMetric.Exposed(), nsMatcher), legend: "{{asset}}"}}},
		{title: "Workflow duration p50 and p95", kind: kindTimeseries, unit: "s", width: 8, height: 8,
			description: "Seconds from start to end of each WorkflowTemplate's workflows, checks, retries and releases included (Argo's controller metric).",
			queries:     quantiles(ArgoPrefix+"workflowtemplate_runtime_bucket", "name")},
	}
}

// eventPanels show Argo Events' own counters: events the EventSources
// published to the EventBus and Workflows the Sensors created, then what
// failed on the way. An upload whose event was lost shows nowhere else
// until the next reconcile runs it.
func eventPanels() []panelSpec {
	rate := func(metric, by, legend string) querySpec {
		return querySpec{expr: fmt.Sprintf(`sum by (%s) (rate(%s%s{%s}[$__rate_interval]))`, by, ArgoEventsPrefix, metric, nsMatcher), legend: legend}
	}
	// Failures are counted since each pod started, not increased over the
	// range: Argo Events creates a counter's series at its first
	// increment, which increase() cannot see, and a failure is often the
	// only one. "or vector(0)" shows a healthy zero instead of no data.
	failed := func(metric, legend string) querySpec {
		return querySpec{expr: fmt.Sprintf(`sum(%s%s{%s}) or vector(0)`, ArgoEventsPrefix, metric, nsMatcher), legend: legend, instant: true}
	}
	return []panelSpec{
		{title: "Events sent and workflows triggered", kind: kindTimeseries, unit: "suffix: /s", width: 16, height: 8,
			description: "Per second: events each EventSource published to the EventBus (one per upload notification), and Workflows each Sensor trigger created. Events the filters drop (not an input of an asset) trigger nothing.",
			queries: []querySpec{
				rate("events_sent_total", "eventsource_name, event_name", "sent {{eventsource_name}}/{{event_name}}"),
				rate("action_triggered_total", "sensor_name, trigger_name", "triggered {{sensor_name}}/{{trigger_name}}"),
			}},
		{title: "Event and trigger failures", kind: kindStat, unit: "short", width: 8, height: 8, alertAt: 1,
			description: "Since each EventSource and Sensor pod started: events that failed to be processed or published to the EventBus, trigger attempts that failed, and triggers given up after their retries (an upload no Workflow ran; the reconcile runs it later).",
			queries: []querySpec{
				failed("events_processing_failed_total", "events failed"),
				failed("action_failed_total", "trigger attempts failed"),
				failed("action_retries_failed_total", "triggers given up"),
			}},
	}
}

func controllerPanels() []panelSpec {
	return []panelSpec{
		{title: "Workflows by phase", kind: kindTimeseries, unit: "short", width: 10, height: 8,
			description: "Workflows in the cluster by phase, all namespaces the controller manages.",
			queries:     []querySpec{{expr: `sum by (status) (` + ArgoPrefix + `gauge)`, legend: "{{status}}"}}},
		{title: "Controller queue depth", kind: kindTimeseries, unit: "short", width: 10, height: 8,
			description: "Items waiting in the controller's work queues: a queue that only grows means the controller falls behind.",
			queries:     []querySpec{{expr: `sum by (queue_name) (` + ArgoPrefix + `queue_depth_gauge)`, legend: "{{queue_name}}"}}},
		{title: "Controller up", kind: kindStat, unit: "short", width: 4, height: 8,
			description: "1 when Prometheus scrapes Argo's controller.",
			queries:     []querySpec{{expr: fmt.Sprintf(`max(up{job=%q})`, ControllerJob), legend: "up"}}},
	}
}

// resourcePanels join each container's cAdvisor usage to its pod's
// workflow label from kube-state-metrics.
func resourcePanels() []panelSpec {
	perWorkflow := func(usage string) string {
		return fmt.Sprintf(`sum by (%[1]s) (%[2]s * on (namespace, pod) group_left (%[1]s) kube_pod_labels{%[3]s, %[1]s!=""})`,
			workflowPodLabel, usage, nsMatcher)
	}
	legend := "{{" + workflowPodLabel + "}}"
	return []panelSpec{
		{title: "CPU per workflow", kind: kindTimeseries, unit: "short", width: 12, height: 8,
			description: "CPU cores used by each workflow's pods (every container: main, init and wait).",
			queries:     []querySpec{{expr: perWorkflow(fmt.Sprintf(`rate(container_cpu_usage_seconds_total{%s, container!=""}[$__rate_interval])`, nsMatcher)), legend: legend}}},
		{title: "Memory per workflow", kind: kindTimeseries, unit: "bytes", width: 12, height: 8,
			description: "Working set memory of each workflow's pods.",
			queries:     []querySpec{{expr: perWorkflow(fmt.Sprintf(`container_memory_working_set_bytes{%s, container!=""}`, nsMatcher)), legend: legend}}},
	}
}

// datasource is the provisioned Prometheus, by uid.
func datasource() common.DataSourceRef {
	typ, uid := "prometheus", DatasourceUID
	return common.DataSourceRef{Type: &typ, Uid: &uid}
}

// buildDashboard builds the dashboard with Grafana's own Go types; c's
// namespace is the namespace variable's default.
func buildDashboard(c Config) (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder("fieldflow").
		Uid(DashboardUID).
		Description("fieldflow runs through Argo Workflows: results, files waiting, durations, throughput, Argo Events' events and triggers, the controller, and CPU and memory per workflow.").
		Tags([]string{"fieldflow", "argo-workflows", "argo-events"}).
		Refresh("30s").
		Time("now-6h", "now").
		Timezone(common.TimeZoneBrowser).
		WithVariable(namespaceVariable(c))
	for _, row := range dashboardRows() {
		b.WithRow(dashboard.NewRowBuilder(row.title))
		for _, p := range row.panels {
			b.WithPanel(panel(p))
		}
	}
	d, err := b.Build()
	if err != nil {
		return d, fmt.Errorf("dashboard: %w", err)
	}
	return d, nil
}

// namespaceVariable lists the namespaces fieldflow's runs were counted in.
func namespaceVariable(c Config) *dashboard.QueryVariableBuilder {
	query := fmt.Sprintf("label_values(%s, namespace)", RunsMetric.Exposed())
	return dashboard.NewQueryVariableBuilder("namespace").
		Label("Namespace").
		Datasource(datasource()).
		Query(dashboard.StringOrMap{String: &query}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Current(dashboard.VariableOption{
			Text:  dashboard.StringOrArrayOfString{String: &c.Namespace},
			Value: dashboard.StringOrArrayOfString{String: &c.Namespace},
		})
}

// panel builds one panel of its kind.
func panel(p panelSpec) cog.Builder[dashboard.Panel] {
	targets := queries(p.queries)
	switch p.kind {
	case kindStat:
		return stat.NewPanelBuilder().Title(p.title).Description(p.description).Datasource(datasource()).
			Unit(p.unit).Span(p.width).Height(p.height).Targets(targets).Thresholds(thresholds(p.alertAt)).
			ColorMode(common.BigValueColorModeBackground).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
	case kindBarGauge:
		return bargauge.NewPanelBuilder().Title(p.title).Description(p.description).Datasource(datasource()).
			Unit(p.unit).Span(p.width).Height(p.height).Targets(targets).Thresholds(thresholds(p.alertAt)).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
	default:
		return timeseries.NewPanelBuilder().Title(p.title).Description(p.description).Datasource(datasource()).
			Unit(p.unit).Span(p.width).Height(p.height).Targets(targets).Min(0).
			Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).
				DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
			Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
	}
}

func queries(qs []querySpec) []cog.Builder[variants.Dataquery] {
	var out []cog.Builder[variants.Dataquery]
	for i, q := range qs {
		b := prometheus.NewDataqueryBuilder().Datasource(datasource()).Expr(q.expr).LegendFormat(q.legend).
			RefId(string(rune('A' + i)))
		if q.instant {
			b.Instant()
		} else {
			b.Range()
		}
		out = append(out, b)
	}
	return out
}

// thresholds are green, and red from alertAt on when it is set.
func thresholds(alertAt float64) *dashboard.ThresholdsConfigBuilder {
	steps := []dashboard.Threshold{{Color: "green"}}
	if alertAt > 0 {
		steps = append(steps, dashboard.Threshold{Value: &alertAt, Color: "red"})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps)
}
