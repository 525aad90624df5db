package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/generator"
	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"

	"github.com/fieldflow/fieldflow/generator/grafanatest"
)

// TestDashboardOnRealData proves the shipped dashboard and alert rules on
// real data: Debian's Prometheus scrapes the engine (Argo's controller and
// Argo Events' EventSource and Sensor, with the generated rules loaded)
// while the sample, uploaded to a real MinIO bucket, runs through Argo
// Events and Argo, then every dashboard query about fieldflow's own
// metrics and Argo Events' goes through Prometheus' HTTP API and must
// return series carrying the labels its legend shows, with the values the
// rules and the uploads gave. The controller's, cAdvisor's and
// kube-state-metrics' panels are checked by name against Argo v3.7's
// metrics in the generator's tests; here they run too and are only
// logged, since the process kubelet serves no cAdvisor metrics and no
// kube-state-metrics runs locally.
func TestDashboardOnRealData(t *testing.T) {
	local, fieldflow := binaries(t)
	promBin := prometheusBinary(t)
	srv := s3test.Require(t)
	bucket := srv.Bucket(t)
	store, env := "s3://"+bucket.Bucket(), srv.Env()
	path := minioEventPath(t)
	metricsAddr := freeAddr(t)
	state := filepath.Join(t.TempDir(), "state")
	w := startWatch(t, local, state, env, "--store", store, "--metrics-addr", metricsAddr)
	prom := startPrometheus(t, promBin, metricsAddr)
	waitEventsReady(t, w, state)

	// The reconcile the engine runs at start sets every run counter to
	// zero; once Prometheus has the zeros, the sample's runs are increases.
	prom.waitFor(2*time.Minute, `argo_workflows_fieldflow_runs{result="failed"} == 0`)
	sample := t.TempDir()
	run(t, fieldflow, "sample", "--store", sample, "--faults", "--boxes", "2")
	want := map[string]string{}
	for _, v := range judge(t, fieldflow, sample) {
		want[v.Key] = v.State
	}
	uploads := uploadSample(t, prom, bucket, sample, path, want)
	w.settle(12*time.Minute, "sample judged as in process", func() bool {
		return maps.Equal(states(t, fieldflow, store, env...), want)
	})
	reconcile(t, w)
	prom.waitFor(time.Minute, fmt.Sprintf(`argo_workflows_fieldflow_files{state="waiting"} == %d`, count(want, "waiting")))
	checkEventCounts(t, prom, w, path, uploads)

	window := fmt.Sprintf("%ds", int(time.Since(prom.start).Seconds())+10)
	vars := strings.NewReplacer("$namespace", w.ns, "$__rate_interval", window, "$__range", window)
	checkDashboard(t, prom, vars, want)
	checkAlerts(t, prom, w.ns)
}

// panelWants are label values a panel must show after the sample, over
// all its queries: every result and state the sample's faults produce,
// and every event and trigger of the minio EventSource and Sensor.
var panelWants = map[string]map[string][]string{
	"Runs in the time range":   {"asset": {"box", "field"}, "result": {"processed", "waiting", "out-of-range", "quarantined"}},
	"Runs by asset and result": {"result": {"processed", "waiting", "out-of-range", "quarantined"}},
	"Failed and quarantined":   {"result": {"quarantined"}},
	"Inputs by state":          {"state": {"done", "waiting", "quarantined", "out-of-range"}},
	"variable namespace":       {"namespace": {"fieldflow"}},
	"Events sent and workflows triggered": {
		"eventsource_name": {"minio"}, "event_name": {"box", "field"},
		"sensor_name": {"minio"}, "trigger_name": {"fieldflow-box", "fieldflow-field"},
	},
}

// panelZero are the panels whose every series must be 0 after the sample:
// it makes no event or trigger fail, and the panel must show a healthy
// zero ("or vector(0)"), not no data.
var panelZero = map[string]bool{"Event and trigger failures": true}

// realDataPrefixes are the metrics whose dashboard queries the sample
// fills: fieldflow's own, from the controller, and Argo Events', from the
// event path's EventSource and Sensor.
var realDataPrefixes = []string{generator.ArgoPrefix + "fieldflow_", generator.ArgoEventsPrefix}

// onRealData says whether expr reads a metric the sample fills.
func onRealData(expr string) bool {
	return slices.ContainsFunc(realDataPrefixes, func(p string) bool { return strings.Contains(expr, p) })
}

// checkDashboard runs every query of the checked-in dashboard.
func checkDashboard(t *testing.T, prom *prometheus, vars *strings.Replacer, want map[string]string) {
	b, err := os.ReadFile(filepath.Join(repoRoot, generator.DashboardFile))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := grafanatest.Queries(b)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[string][]string{} // panel → label → values
	for _, q := range qs {
		expr := vars.Replace(labelValues(q.Expr))
		series := prom.query(expr)
		if !onRealData(q.Expr) {
			t.Logf("%s: %d series from the local controller (checked by name in generator tests): %s", q.Panel, len(series), expr)
			continue
		}
		checkSeries(t, q, expr, series)
		if seen[q.Panel] == nil {
			seen[q.Panel] = map[string][]string{}
		}
		for _, s := range series {
			for l, v := range s.labels {
				seen[q.Panel][l] = append(seen[q.Panel][l], v)
			}
		}
		if q.Panel == "Inputs by state" {
			checkStateCounts(t, series, want)
		}
	}
	checkPanelWants(t, seen)
}

// checkSeries wants series, each with the labels the legend shows, and at
// least one with a positive value, or, on a panelZero panel, all 0.
func checkSeries(t *testing.T, q grafanatest.Query, expr string, series []sample) {
	t.Helper()
	if len(series) == 0 {
		t.Errorf("%s: no series for %s", q.Panel, expr)
		return
	}
	positive := false
	for _, s := range series {
		for _, l := range legendLabels(q.Legend) {
			if s.labels[l] == "" {
				t.Errorf("%s: series %v has no label %q for its legend %q", q.Panel, s.labels, l, q.Legend)
			}
		}
		if panelZero[q.Panel] && s.value != 0 {
			t.Errorf("%s: %v for %s, want 0: the sample makes no event or trigger fail", q.Panel, s, expr)
		}
		positive = positive || s.value > 0 && !math.IsInf(s.value, 0)
	}
	if !panelZero[q.Panel] && !positive {
		t.Errorf("%s: no positive value among %v for %s", q.Panel, series, expr)
	}
	t.Logf("%s %q: %d series %v", q.Panel, q.Legend, len(series), series)
}

// checkPanelWants wants every panelWants panel among the checked ones,
// showing the label values it names in one query or another: a panel
// renamed or moved off real data would otherwise go unchecked.
func checkPanelWants(t *testing.T, seen map[string]map[string][]string) {
	t.Helper()
	for panel, labels := range panelWants {
		if seen[panel] == nil {
			t.Errorf("%s: no query of this panel checked on real data", panel)
			continue
		}
		for l, values := range labels {
			for _, v := range values {
				if !slices.Contains(seen[panel][l], v) {
					t.Errorf("%s: no series with %s=%q (have %v)", panel, l, v, seen[panel][l])
				}
			}
		}
	}
}

// checkStateCounts wants the files gauge to count what `fieldflow
// status` says of the store.
func checkStateCounts(t *testing.T, series []sample, want map[string]string) {
	t.Helper()
	for _, s := range series {
		if n := count(want, s.labels["state"]); s.value != float64(n) {
			t.Errorf("inputs %s: the gauge says %v, the rules %d", s.labels["state"], s.value, n)
		}
	}
}

// checkAlerts wants the quarantined input's alert firing with its asset
// and namespace, no alert about the controller, and every rule healthy.
func checkAlerts(t *testing.T, prom *prometheus, ns string) {
	var firing []map[string]string
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && !slices.ContainsFunc(firing, quarantinedIn(ns)) {
		time.Sleep(time.Second)
		firing = prom.alerts()
	}
	if !slices.ContainsFunc(firing, quarantinedIn(ns)) {
		t.Errorf("FieldflowInputQuarantined is not firing for asset field in %s; firing: %v", ns, firing)
	}
	for _, a := range firing {
		if a["alertname"] == "ArgoWorkflowsControllerDown" {
			t.Errorf("ArgoWorkflowsControllerDown fires while the controller is scraped: %v", a)
		}
	}
	prom.rulesHealthy()
}

func quarantinedIn(ns string) func(map[string]string) bool {
	return func(a map[string]string) bool {
		return a["alertname"] == "FieldflowInputQuarantined" && a["asset"] == "field" && a["namespace"] == ns
	}
}

// reconcile runs the reconcile template as its CronWorkflow does, and
// waits for it: its status step sets the files gauges.
func reconcile(t *testing.T, w *watcher) {
	t.Helper()
	wf := &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "fieldflow-reconcile-"},
		Spec:       wfv1.WorkflowSpec{WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: "fieldflow-reconcile"}},
	}
	wf, err := w.argo.ArgoprojV1alpha1().Workflows(w.ns).Create(t.Context(), wf, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("submit reconcile: %v", err)
	}
	w.settle(3*time.Minute, "reconcile "+wf.Name+" done", func() bool {
		for _, x := range w.workflows(t.Context()) {
			if x.Name == wf.Name {
				return x.Status.Phase == wfv1.WorkflowSucceeded
			}
		}
		return false
	})
}

// labelValues turns Grafana's label_values(selector, label) variable query
// into the PromQL that lists the same values.
func labelValues(expr string) string {
	if m := regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`).FindStringSubmatch(expr); m != nil {
		return fmt.Sprintf("count by (%s) (%s)", m[2], m[1])
	}
	return expr
}

func legendLabels(legend string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`).FindAllStringSubmatch(legend, -1) {
		out = append(out, m[1])
	}
	return out
}

func count(states map[string]string, state string) int {
	n := 0
	for _, s := range states {
		if s == state {
			n++
		}
	}
	return n
}

// prometheusBinary is Debian's prometheus, or skips unless
// FIELDFLOW_REQUIRE_PROMETHEUS=1 (make test installs it).
func prometheusBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("FIELDFLOW_REQUIRE_PROMETHEUS") == "1" {
			t.Fatal("prometheus not found and FIELDFLOW_REQUIRE_PROMETHEUS=1: apt-get install prometheus")
		}
		t.Skip("prometheus not found: apt-get install prometheus (make test does), or set FIELDFLOW_REQUIRE_PROMETHEUS=1 to fail instead")
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// prometheus is a Prometheus server on loopback.
type prometheus struct {
	t     *testing.T
	url   string
	start time.Time
}

// startPrometheus runs Prometheus with the generated configuration's
// controller job pointed at the engine's metrics (plain HTTP on loopback
// instead of the in-cluster Service's HTTPS), scraping every second, and
// the generated alert rules evaluated every second.
func startPrometheus(t *testing.T, bin, target string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	cfg := localPrometheusConfig(t, target)
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+path, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	log, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("prometheus log:\n%s", lastLines(string(b), 20))
		}
	})
	p := &prometheus{t: t, url: "http://" + addr, start: time.Now()}
	p.waitReady(cmd)
	return p
}

// localPrometheusConfig is the generated prometheus.yml with only its
// controller job, aimed at target.
func localPrometheusConfig(t *testing.T, target string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, generator.PrometheusFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg generator.PrometheusConfig
	if err := yaml.UnmarshalStrict(b, &cfg); err != nil {
		t.Fatalf("%s: %v", generator.PrometheusFile, err)
	}
	rules, err := filepath.Abs(filepath.Join(repoRoot, generator.RulesFile))
	if err != nil {
		t.Fatal(err)
	}
	local := generator.PrometheusConfig{
		Global:    generator.PromGlobal{ScrapeInterval: "1s", EvaluationInterval: "1s"},
		RuleFiles: []string{rules},
	}
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName == generator.ControllerJob {
			sc.Scheme, sc.TLSConfig = "http", nil
			sc.StaticConfigs = []generator.StaticConfig{{Targets: []string{target}}}
			local.ScrapeConfigs = append(local.ScrapeConfigs, sc)
		}
	}
	if len(local.ScrapeConfigs) != 1 {
		t.Fatalf("%s has no job %s", generator.PrometheusFile, generator.ControllerJob)
	}
	out, err := yaml.Marshal(local)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (p *prometheus) waitReady(cmd *exec.Cmd) {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cmd.ProcessState != nil {
			p.t.Fatal("prometheus exited")
		}
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	p.t.Fatal("prometheus not ready after a minute")
}

// sample is one series of an instant query's result.
type sample struct {
	labels map[string]string
	value  float64
}

func (s sample) String() string { return fmt.Sprintf("%v=%g", s.labels, s.value) }

// query runs an instant query now.
func (p *prometheus) query(expr string) []sample {
	p.t.Helper()
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	p.get("/api/v1/query?query="+url.QueryEscape(expr), &data)
	var out []sample
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			p.t.Fatalf("%s: value %v: %v", expr, r.Value, err)
		}
		out = append(out, sample{labels: r.Metric, value: v})
	}
	return out
}

// waitFor waits until expr returns a series.
func (p *prometheus) waitFor(limit time.Duration, expr string) {
	p.t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if len(p.query(expr)) > 0 {
			p.t.Logf("%s after %s", expr, time.Since(start).Round(time.Second))
			return
		}
		time.Sleep(time.Second)
	}
	p.t.Fatalf("no series for %s after %s", expr, limit)
}

// alerts returns the labels of every pending or firing alert.
func (p *prometheus) alerts() []map[string]string {
	var data struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	p.get("/api/v1/alerts", &data)
	var out []map[string]string
	for _, a := range data.Alerts {
		if a.State == "firing" {
			out = append(out, a.Labels)
		}
	}
	return out
}

// rulesHealthy wants every loaded rule evaluated without error.
func (p *prometheus) rulesHealthy() {
	var data struct {
		Groups []struct {
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	p.get("/api/v1/rules", &data)
	n := 0
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				p.t.Errorf("rule %s: health %s %s", r.Name, r.Health, r.LastError)
			}
		}
	}
	if n == 0 {
		p.t.Error("prometheus loaded no rules")
	}
}

// get decodes the data of a Prometheus API answer into v.
func (p *prometheus) get(path string, v any) {
	p.t.Helper()
	resp, err := http.Get(p.url + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		p.t.Fatalf("%s: %v", path, err)
	}
	if body.Status != "success" {
		p.t.Fatalf("%s: %s %s", path, body.Status, body.Error)
	}
	if err := json.Unmarshal(body.Data, v); err != nil {
		p.t.Fatalf("%s: %v", path, err)
	}
}
