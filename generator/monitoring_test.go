package generator

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	promlabels "github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/processor/rules"

	"github.com/fieldflow/fieldflow/generator/grafanatest"
)

// argoV37Metrics is every metric Argo Workflows v3.7.3's controller
// exposes, with its labels, as listed in util/telemetry/metrics_list.go and
// attributes.go (plus the phase label workflow/metrics/counter_template.go
// adds). All carry ArgoPrefix; the OpenTelemetry exporter adds no _total
// and no unit. Histograms also show as _bucket, _sum and _count.
var argoV37Metrics = []struct {
	name, kind string
	labels     []string
}{
	{"cronworkflows_concurrencypolicy_triggered", "counter", []string{"name", "namespace", "concurrency_policy"}},
	{"cronworkflows_triggered_total", "counter", []string{"name", "namespace"}},
	{"deprecated_feature", "counter", []string{"feature", "namespace"}},
	{"error_count", "counter", []string{"cause"}},
	{"gauge", "gauge", []string{"status"}},
	{"is_leader", "gauge", nil},
	{"k8s_request_duration", "histogram", []string{"kind", "verb", "status_code"}},
	{"k8s_request_total", "counter", []string{"kind", "verb", "status_code"}},
	{"log_messages", "counter", []string{"level"}},
	{"operation_duration_seconds", "histogram", nil},
	{"pod_missing", "counter", []string{"node_phase", "recently_started"}},
	{"pod_pending_count", "counter", []string{"reason", "namespace"}},
	{"pods_gauge", "gauge", []string{"phase"}},
	{"pods_total_count", "counter", []string{"phase", "namespace"}},
	{"queue_adds_count", "counter", []string{"queue_name"}},
	{"queue_depth_gauge", "gauge", []string{"queue_name"}},
	{"queue_duration", "histogram", []string{"queue_name"}},
	{"queue_latency", "histogram", []string{"queue_name"}},
	{"queue_longest_running", "gauge", []string{"queue_name"}},
	{"queue_retries", "counter", []string{"queue_name"}},
	{"queue_unfinished_work", "gauge", []string{"queue_name"}},
	{"total_count", "counter", []string{"phase", "namespace"}},
	{"version", "counter", []string{"version", "platform", "go_version", "build_date", "compiler", "git_commit", "git_tree_state", "git_tag"}},
	{"workers_busy_count", "gauge", []string{"worker_type"}},
	{"workflow_condition", "gauge", []string{"type", "status"}},
	{"workflowtemplate_runtime", "histogram", []string{"name", "namespace", "cluster_scope"}},
	{"workflowtemplate_triggered_total", "counter", []string{"name", "namespace", "cluster_scope", "phase"}},
}

// argoEventsV197Metrics is every metric Argo Events v1.9.7's EventSource
// and Sensor pods serve, with its labels, as pkg/metrics/metrics.go
// declares them (namespace is a constant label of each). They carry
// ArgoEventsPrefix and, being Prometheus client metrics, _total on
// counters; summaries also show as _sum and _count. The scrape adds pod.
var argoEventsV197Metrics = []struct {
	name, kind string
	labels     []string
}{
	{"event_service_running_total", "gauge", []string{"namespace", "eventsource_name"}},
	{"events_sent_total", "counter", []string{"namespace", "eventsource_name", "event_name"}},
	{"events_sent_failed_total", "counter", []string{"namespace", "eventsource_name", "event_name"}},
	{"events_processing_failed_total", "counter", []string{"namespace", "eventsource_name", "event_name"}},
	{"event_processing_duration_milliseconds", "summary", []string{"namespace", "eventsource_name", "event_name"}},
	{"action_triggered_total", "counter", []string{"namespace", "sensor_name", "trigger_name"}},
	{"action_failed_total", "counter", []string{"namespace", "sensor_name", "trigger_name"}},
	{"action_retries_failed_total", "counter", []string{"namespace", "sensor_name", "trigger_name"}},
	{"action_duration_milliseconds", "summary", []string{"namespace", "sensor_name", "trigger_name"}},
}

// otherMetrics come from outside Argo: Prometheus itself, the kubelet's
// cAdvisor and kube-state-metrics (with the workflow label allowed).
var otherMetrics = map[string][]string{
	"up":                                 nil,
	"container_cpu_usage_seconds_total":  {"namespace", "pod", "container", "id", "image", "name", "cpu"},
	"container_memory_working_set_bytes": {"namespace", "pod", "container", "id", "image", "name"},
	"kube_pod_labels":                    {"namespace", "pod", "uid", workflowPodLabel},
}

// targetLabels are the labels the scrape configs put on every series.
var targetLabels = []string{"job", "instance", "node"}

// knownMetrics maps every series name a query may use to its labels.
func knownMetrics() map[string][]string {
	known := map[string][]string{}
	add := func(name, kind string, ls []string) {
		ls = append(slices.Clone(ls), targetLabels...)
		switch kind {
		case "histogram":
			known[name+"_bucket"] = append(slices.Clone(ls), "le")
		case "summary":
			known[name] = append(slices.Clone(ls), "quantile")
		default:
			known[name] = ls
			return
		}
		known[name+"_sum"], known[name+"_count"] = ls, ls
	}
	for _, m := range CustomMetrics {
		add(m.Exposed(), m.Type, m.Labels)
	}
	for _, m := range argoV37Metrics {
		add(ArgoPrefix+m.name, m.kind, m.labels)
	}
	for _, m := range argoEventsV197Metrics {
		add(ArgoEventsPrefix+m.name, m.kind, append(slices.Clone(m.labels), "pod"))
	}
	for name, ls := range otherMetrics {
		add(name, "gauge", ls)
	}
	return known
}

// grafanaVars are what Grafana puts in place of the variables the
// dashboard uses, so that its queries parse as PromQL.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__range", "6h", "$namespace", "fieldflow")

// checkQuery parses expr with Prometheus' own parser and checks that every
// series it selects is a known metric and every label it matches on is
// one that metric has. It returns the parsed expression.
func checkQuery(expr string, known map[string][]string) (parser.Expr, error) {
	e, err := parser.ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", expr, err)
	}
	var errs []error
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			errs = append(errs, checkSelector(vs, known))
		}
		return nil
	})
	return e, errors.Join(errs...)
}

func checkSelector(vs *parser.VectorSelector, known map[string][]string) error {
	name := vs.Name
	for _, m := range vs.LabelMatchers {
		if m.Name == promlabels.MetricName && m.Type == promlabels.MatchEqual {
			name = m.Value
		}
	}
	ls, ok := known[name]
	if !ok {
		return fmt.Errorf("%s: no template, Argo v3.7, Argo Events v1.9, cAdvisor or kube-state-metrics metric of that name", name)
	}
	for _, m := range vs.LabelMatchers {
		if m.Name != promlabels.MetricName && !slices.Contains(ls, m.Name) {
			return fmt.Errorf("%s has no label %q (it has %v)", name, m.Name, ls)
		}
	}
	return nil
}

// resultLabels are the labels an expression's result series carry, when
// an aggregation decides them; ok is false when the query keeps whatever
// labels its series have.
func resultLabels(e parser.Expr) (ls []string, ok bool) {
	switch e := e.(type) {
	case *parser.ParenExpr:
		return resultLabels(e.Expr)
	case *parser.AggregateExpr:
		if e.Without {
			return nil, false
		}
		return e.Grouping, true
	case *parser.Call:
		if e.Func.Name == "histogram_quantile" {
			ls, ok := resultLabels(e.Args[1])
			return slices.DeleteFunc(slices.Clone(ls), func(l string) bool { return l == "le" }), ok
		}
	}
	return nil, false
}

// legendLabels are the labels a legend format shows: {{name}}.
func legendLabels(legend string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`).FindAllStringSubmatch(legend, -1) {
		out = append(out, m[1])
	}
	return out
}

// labelValuesQuery is Grafana's label_values(selector, label) variable
// query, which is no PromQL.
var labelValuesQuery = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

func readDashboard(t *testing.T) []grafanatest.Query {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, DashboardFile))
	if err != nil {
		t.Fatalf("%v (run make generate)", err)
	}
	qs, err := grafanatest.Queries(b)
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

// eventsShown are the Argo Events counters the Events row must show:
// events published, Workflows created, and each way those fail.
var eventsShown = []string{"events_sent_total", "events_processing_failed_total", "action_triggered_total", "action_failed_total", "action_retries_failed_total"}

// TestDashboardQueries checks every query the checked-in dashboard runs:
// it parses, it names only metrics that exist (the templates' custom
// metrics, Argo v3.7's own, Argo Events v1.9's, cAdvisor's,
// kube-state-metrics') with labels they have, its legend shows labels the
// query keeps, it asks the provisioned datasource, and every custom metric
// and every counter of eventsShown has a panel.
func TestDashboardQueries(t *testing.T) {
	known := knownMetrics()
	qs := readDashboard(t)
	if len(qs) < 15 {
		t.Fatalf("%d dashboard queries", len(qs))
	}
	used := map[string]bool{}
	for _, q := range qs {
		expr := q.Expr
		if m := labelValuesQuery.FindStringSubmatch(q.Expr); m != nil {
			expr = fmt.Sprintf("count by (%s) (%s)", m[2], m[1])
		}
		e, err := checkQuery(expr, known)
		if err != nil {
			t.Errorf("%s: %v", q.Panel, err)
			continue
		}
		if ls, ok := resultLabels(e); ok {
			for _, l := range legendLabels(q.Legend) {
				if !slices.Contains(ls, l) {
					t.Errorf("%s: legend shows {{%s}}, which %q does not keep (%v)", q.Panel, l, q.Expr, ls)
				}
			}
		}
		if q.Datasource != DatasourceUID {
			t.Errorf("%s: datasource %q, want the provisioned %q", q.Panel, q.Datasource, DatasourceUID)
		}
		for name := range known {
			used[name] = used[name] || regexp.MustCompile(`\b`+name+`\b`).MatchString(q.Expr)
		}
	}
	want := []string{}
	for _, m := range CustomMetrics {
		want = append(want, m.Exposed())
	}
	for _, name := range eventsShown {
		want = append(want, ArgoEventsPrefix+name)
	}
	for _, name := range want {
		if !used[name] && !used[name+"_bucket"] {
			t.Errorf("no panel shows %s", name)
		}
	}
}

func readRules(t *testing.T) RuleFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, RulesFile))
	if err != nil {
		t.Fatalf("%v (run make generate)", err)
	}
	var rf RuleFile
	if err := yaml.UnmarshalStrict(b, &rf); err != nil {
		t.Fatalf("%s: %v", RulesFile, err)
	}
	return rf
}

// TestAlertRules checks every rule's PromQL like the dashboard's, and that
// the alerts the operators rely on exist.
func TestAlertRules(t *testing.T) {
	known := knownMetrics()
	alerts := map[string]bool{}
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			if _, err := checkQuery(r.Expr, known); err != nil {
				t.Errorf("alert %s: %v", r.Alert, err)
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s lacks a severity, summary or description", r.Alert)
			}
		}
	}
	for _, name := range []string{"FieldflowRunFailed", "FieldflowInputQuarantined", "FieldflowFilesWaitingTooLong", "ArgoWorkflowsControllerDown"} {
		if !alerts[name] {
			t.Errorf("no alert %s", name)
		}
	}
}

// TestQueryCheckCatchesMistakes shows the checks above fail on the
// mistakes they are there for.
func TestQueryCheckCatchesMistakes(t *testing.T) {
	known := knownMetrics()
	for _, tc := range []struct {
		expr, wantErr string
	}{
		{`sum by (asset) (rate(argo_workflows_fieldflow_runs{namespace="$namespace"}[$__rate_interval]))`, ""},
		{`histogram_quantile(0.95, sum by (le) (rate(argo_workflows_fieldflow_process_duration_seconds_bucket[5m])))`, ""},
		{`sum(argo_workflows_fieldflow_run)`, "argo_workflows_fieldflow_run: no template"},
		{`sum(argo_workflows_fieldflow_runs_total)`, "argo_workflows_fieldflow_runs_total: no template"},
		{`fieldflow_runs`, "fieldflow_runs: no template"},
		{`argo_workflows_fieldflow_process_duration_seconds{asset="box"}`, "argo_workflows_fieldflow_process_duration_seconds: no template"},
		{`argo_workflows_gauge{phase="Running"}`, `argo_workflows_gauge has no label "phase"`},
		{`{__name__="argo_workflows_queue_depth"}`, "argo_workflows_queue_depth: no template"},
		{`sum by (asset (argo_workflows_fieldflow_runs)`, "parse"},
		{`sum by (sensor_name) (rate(argo_events_action_triggered_total{namespace="$namespace"}[$__rate_interval]))`, ""},
		{`sum(argo_events_action_triggered)`, "argo_events_action_triggered: no template"},
		{`argo_events_events_sent_total{sensor_name="minio"}`, `argo_events_events_sent_total has no label "sensor_name"`},
	} {
		_, err := checkQuery(tc.expr, known)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: error %v, want %q", tc.expr, err, tc.wantErr)
		}
	}
}

// promtool returns Debian's promtool, or skips the test when it is missing
// unless FIELDFLOW_REQUIRE_PROMETHEUS=1 (make test installs it).
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("FIELDFLOW_REQUIRE_PROMETHEUS") == "1" {
			t.Fatal("promtool not found and FIELDFLOW_REQUIRE_PROMETHEUS=1: apt-get install prometheus")
		}
		t.Skip("promtool not found: apt-get install prometheus (make test does), or set FIELDFLOW_REQUIRE_PROMETHEUS=1 to fail instead")
	}
	return path
}

// kubernetesSDRoles are the roles Prometheus' Kubernetes discovery knows.
var kubernetesSDRoles = []string{"node", "pod", "service", "endpoints", "endpointslice", "ingress"}

// TestPromtool runs `promtool check rules` on the rules and `promtool
// check config` on the configuration. Debian's Prometheus is built
// without Kubernetes discovery, so the config promtool reads has each
// kubernetes_sd_configs replaced by a static target (every other field,
// relabelling included, is promtool's to judge) and the roles are checked
// here.
func TestPromtool(t *testing.T) {
	bin := promtool(t)
	if out, err := exec.Command(bin, "check", "rules", filepath.Join(repoRoot, RulesFile)).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules %s: %v\n%s", RulesFile, err, out)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, PrometheusFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg PrometheusConfig
	if err := yaml.UnmarshalStrict(b, &cfg); err != nil {
		t.Fatalf("%s: %v", PrometheusFile, err)
	}
	if !slices.Equal(cfg.RuleFiles, []string{RulesFileName}) || filepath.Dir(RulesFile) != filepath.Dir(PrometheusFile) {
		t.Errorf("rule_files %v: want %s beside %s", cfg.RuleFiles, RulesFileName, PrometheusFile)
	}
	for i, sc := range cfg.ScrapeConfigs {
		for _, sd := range sc.KubernetesSDConfigs {
			if !slices.Contains(kubernetesSDRoles, sd.Role) {
				t.Errorf("job %s: kubernetes_sd_configs role %q", sc.JobName, sd.Role)
			}
		}
		if len(sc.KubernetesSDConfigs) > 0 {
			cfg.ScrapeConfigs[i].KubernetesSDConfigs = nil
			cfg.ScrapeConfigs[i].StaticConfigs = append(sc.StaticConfigs, StaticConfig{Targets: []string{"kubernetes-sd.invalid:443"}})
		}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	// --syntax-only: the service account's token file exists only in a pod;
	// the rules were checked above.
	if out, err := exec.Command(bin, "check", "config", "--syntax-only", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check config %s: %v\n%s", PrometheusFile, err, out)
	}
}

// TestPrometheusScrapes pins what the dashboard depends on: the
// controller over HTTPS (self-signed since v3.6), cAdvisor through the API
// server's node proxy, and kube-state-metrics keeping its own labels.
func TestPrometheusScrapes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, PrometheusFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg PrometheusConfig
	if err := yaml.UnmarshalStrict(b, &cfg); err != nil {
		t.Fatal(err)
	}
	jobs := map[string]ScrapeConfig{}
	for _, sc := range cfg.ScrapeConfigs {
		jobs[sc.JobName] = sc
	}
	ctl := jobs[ControllerJob]
	if ctl.Scheme != "https" || ctl.TLSConfig == nil || !ctl.TLSConfig.InsecureSkipVerify ||
		len(ctl.StaticConfigs) != 1 || ctl.StaticConfigs[0].Targets[0] != "workflow-controller-metrics.argo.svc:9090" {
		t.Errorf("controller job: %+v", ctl)
	}
	cad := jobs[cadvisorJob]
	if len(cad.KubernetesSDConfigs) != 1 || cad.KubernetesSDConfigs[0].Role != "node" || cad.Authorization == nil ||
		!slices.ContainsFunc(cad.RelabelConfigs, func(r RelabelConfig) bool {
			return r.TargetLabel == "__metrics_path__" && r.Replacement == "/api/v1/nodes/$1/proxy/metrics/cadvisor"
		}) {
		t.Errorf("cadvisor job: %+v", cad)
	}
	if ksm := jobs[kubeStateMetricsJob]; !ksm.HonorLabels || len(ksm.StaticConfigs) != 1 {
		t.Errorf("kube-state-metrics job: %+v", ksm)
	}
	ev := jobs[argoEventsJob]
	if len(ev.KubernetesSDConfigs) != 1 || ev.KubernetesSDConfigs[0].Role != "pod" ||
		!slices.ContainsFunc(ev.RelabelConfigs, func(r RelabelConfig) bool {
			return r.Action == "keep" && regexp.MustCompile("^(?:"+r.Regex+")$").MatchString("eventsource-controller;metrics") &&
				regexp.MustCompile("^(?:"+r.Regex+")$").MatchString("sensor-controller;metrics")
		}) || slices.ContainsFunc(ev.RelabelConfigs, func(r RelabelConfig) bool { return r.TargetLabel == "namespace" }) {
		t.Errorf("argo-events job: %+v", ev)
	}
}

// TestMetricsReadDeclaredOutputs checks that every output parameter a
// metric reads is one its template declares: Argo's validation lets any
// outputs.* through, and a misspelt one would only fail at run time, with
// the metric lost.
func TestMetricsReadDeclaredOutputs(t *testing.T) {
	// {{outputs.parameters.NAME}} or, in an expression, outputs?.parameters?.["NAME"].
	ref := regexp.MustCompile(`\{\{\s*outputs\.parameters\.([^}\s]+)\s*\}\}|outputs\?\.parameters\?\.\["([^"]+)"\]`)
	reads := 0
	gauges := 0
	for name, wt := range decodeAll(t).templates {
		for _, tmpl := range wt.Spec.Templates {
			if tmpl.Metrics == nil {
				continue
			}
			var declared []string
			for _, p := range tmpl.Outputs.Parameters {
				declared = append(declared, p.Name)
			}
			for _, m := range tmpl.Metrics.Prometheus {
				b, err := yaml.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range ref.FindAllStringSubmatch(string(b), -1) {
					reads++
					if out := r[1] + r[2]; !slices.Contains(declared, out) {
						t.Errorf("%s/%s: metric %s reads outputs.parameters.%s, which the template does not declare (%v)", name, tmpl.Name, m.Name, out, declared)
					}
				}
				if m.Gauge != nil {
					gauges++
				}
			}
		}
	}
	if gauges != len(rules.States)+1 {
		t.Errorf("%d gauges, want one per state and the oldest waiting age", gauges)
	}
	if reads < gauges {
		t.Errorf("found %d reads of outputs in metrics, fewer than the %d gauges: the pattern misses them", reads, gauges)
	}
}

// TestListenerStoppedFires runs the ArgoEventsListenerStopped rule with
// promtool on a pod whose EventSource drops from two listened events to
// one, and on one that stays at two: only the first fires, two minutes on.
func TestListenerStoppedFires(t *testing.T) {
	bin := promtool(t)
	rules, err := filepath.Abs(filepath.Join(repoRoot, RulesFile))
	if err != nil {
		t.Fatal(err)
	}
	const metric = `argo_events_event_service_running_total{namespace="fieldflow",eventsource_name="minio",pod="%s"}`
	// The annotations as promtool expands them for the stopped pod.
	want := map[string]string{}
	for k, v := range listenerStopped().Annotations {
		want[k] = strings.NewReplacer("{{ $labels.pod }}", "stopped", "{{ $labels.eventsource_name }}", "minio", "{{ $labels.namespace }}", "fieldflow").Replace(v)
	}
	annotations, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	test := fmt.Sprintf(`rule_files: [%q]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  - series: '%s'
    values: '2 2 2 1 1 1 1 1'
  - series: '%s'
    values: '2 2 2 2 2 2 2 2'
  alert_rule_test:
  - eval_time: 4m
    alertname: ArgoEventsListenerStopped
  - eval_time: 6m
    alertname: ArgoEventsListenerStopped
    exp_alerts:
    - exp_labels: {severity: critical, namespace: fieldflow, eventsource_name: minio, pod: stopped}
      exp_annotations: %s
`, rules, fmt.Sprintf(metric, "stopped"), fmt.Sprintf(metric, "healthy"), annotations)
	path := filepath.Join(t.TempDir(), "listener_test.yml")
	if err := os.WriteFile(path, []byte(test), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "test", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}
