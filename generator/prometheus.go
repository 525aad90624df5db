package generator

import (
	"fmt"
	"time"

	"github.com/fieldflow/fieldflow/generator/deploy"
	"github.com/fieldflow/fieldflow/processor/rules"
)

// The part of Prometheus' configuration file fieldflow writes, as typed
// structs. Prometheus' own config package would bring every service
// discovery it has into this module, and its rulefmt package does not
// build against the prometheus/common this module pins; the tests run
// promtool on the result instead.

// PrometheusConfig is prometheus.yml.
type PrometheusConfig struct {
	Global        PromGlobal     `json:"global"`
	RuleFiles     []string       `json:"rule_files,omitempty"`
	ScrapeConfigs []ScrapeConfig `json:"scrape_configs"`
}

// PromGlobal is the global section.
type PromGlobal struct {
	ScrapeInterval     string `json:"scrape_interval"`
	EvaluationInterval string `json:"evaluation_interval"`
}

// ScrapeConfig is one scrape job.
type ScrapeConfig struct {
	JobName             string               `json:"job_name"`
	ScrapeInterval      string               `json:"scrape_interval,omitempty"`
	Scheme              string               `json:"scheme,omitempty"`
	MetricsPath         string               `json:"metrics_path,omitempty"`
	HonorLabels         bool                 `json:"honor_labels,omitempty"`
	TLSConfig           *TLSConfig           `json:"tls_config,omitempty"`
	Authorization       *Authorization       `json:"authorization,omitempty"`
	StaticConfigs       []StaticConfig       `json:"static_configs,omitempty"`
	KubernetesSDConfigs []KubernetesSDConfig `json:"kubernetes_sd_configs,omitempty"`
	RelabelConfigs      []RelabelConfig      `json:"relabel_configs,omitempty"`
}

// TLSConfig is a scrape's TLS settings.
type TLSConfig struct {
	CAFile             string `json:"ca_file,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty"`
}

// Authorization sends the content of a file as a bearer token.
type Authorization struct {
	CredentialsFile string `json:"credentials_file"`
}

// StaticConfig is a fixed list of targets.
type StaticConfig struct {
	Targets []string `json:"targets"`
}

// KubernetesSDConfig discovers targets from the Kubernetes API.
type KubernetesSDConfig struct {
	Role string `json:"role"`
}

// RelabelConfig rewrites a target's labels before the scrape.
type RelabelConfig struct {
	SourceLabels []string `json:"source_labels,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	TargetLabel  string   `json:"target_label,omitempty"`
	Replacement  string   `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Groups []RuleGroup `json:"groups"`
}

// RuleGroup is a group of rules evaluated together.
type RuleGroup struct {
	Name  string      `json:"name"`
	Rules []AlertRule `json:"rules"`
}

// AlertRule is one alerting rule.
type AlertRule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// RulesFileName is the rule file beside prometheus.yml, which names it
// relative to itself.
const RulesFileName = "rules.yml"

// serviceAccountDir is where a pod finds its service account's token and
// the cluster's CA.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount/"

// prometheusConfig scrapes the sources the dashboard reads: Argo's
// controller (its custom metrics included), every node's cAdvisor for
// container CPU and memory, kube-state-metrics for the pod labels that
// tie containers to workflows, and Argo Events' EventSource and Sensor
// pods.
func prometheusConfig() PrometheusConfig {
	return PrometheusConfig{
		Global:        PromGlobal{ScrapeInterval: "30s", EvaluationInterval: "30s"},
		RuleFiles:     []string{RulesFileName},
		ScrapeConfigs: []ScrapeConfig{controllerScrape(), cadvisorScrape(), kubeStateMetricsScrape(), argoEventsScrape()},
	}
}

// argoEventsScrape reads the "metrics" port of every EventSource and Sensor
// pod, which Argo Events' controllers label by kind; they have no Service
// to scrape. The pod's namespace is already a label of each metric, so
// only the pod's name is added.
func argoEventsScrape() ScrapeConfig {
	return ScrapeConfig{
		JobName:             argoEventsJob,
		KubernetesSDConfigs: []KubernetesSDConfig{{Role: "pod"}},
		RelabelConfigs: []RelabelConfig{
			{SourceLabels: []string{"__meta_kubernetes_pod_label_controller", "__meta_kubernetes_pod_container_port_name"},
				Regex: "(eventsource|sensor)-controller;metrics", Action: "keep"},
			{SourceLabels: []string{"__meta_kubernetes_pod_name"}, TargetLabel: "pod"},
		},
	}
}

// controllerScrape reads the controller's metrics Service. Since v3.6 it
// serves HTTPS with a certificate it signs itself at start, so there is
// nothing to verify it against.
func controllerScrape() ScrapeConfig {
	return ScrapeConfig{
		JobName:       ControllerJob,
		Scheme:        "https",
		TLSConfig:     &TLSConfig{InsecureSkipVerify: true},
		StaticConfigs: []StaticConfig{{Targets: []string{svc(deploy.ControllerMetricsService, deploy.ArgoNamespace, deploy.ControllerMetricsPort)}}},
	}
}

// cadvisorScrape reads each node's cAdvisor through the API server's node
// proxy, so Prometheus needs no route to the kubelets, only RBAC for
// nodes/proxy.
func cadvisorScrape() ScrapeConfig {
	return ScrapeConfig{
		JobName:             cadvisorJob,
		Scheme:              "https",
		TLSConfig:           &TLSConfig{CAFile: serviceAccountDir + "ca.crt"},
		Authorization:       &Authorization{CredentialsFile: serviceAccountDir + "token"},
		KubernetesSDConfigs: []KubernetesSDConfig{{Role: "node"}},
		RelabelConfigs: []RelabelConfig{
			{TargetLabel: "__address__", Replacement: "kubernetes.default.svc:443"},
			{SourceLabels: []string{"__meta_kubernetes_node_name"}, Regex: "(.+)", TargetLabel: "__metrics_path__", Replacement: "/api/v1/nodes/$1/proxy/metrics/cadvisor"},
			{SourceLabels: []string{"__meta_kubernetes_node_name"}, TargetLabel: "node"},
		},
	}
}

// kubeStateMetricsScrape keeps the labels kube-state-metrics sets: its
// namespace and pod are the pod's, not the target's.
func kubeStateMetricsScrape() ScrapeConfig {
	return ScrapeConfig{
		JobName:       kubeStateMetricsJob,
		HonorLabels:   true,
		StaticConfigs: []StaticConfig{{Targets: []string{svc(deploy.KubeStateMetricsService, MonitoringNamespace, deploy.KubeStateMetricsPort)}}},
	}
}

// alertRules are the alerts: runs that failed or were quarantined, inputs
// waiting too long, and a controller Prometheus cannot scrape (without it
// none of the other alerts can fire).
func alertRules() RuleFile {
	runs := RunsMetric.Exposed()
	increased := func(result string) string {
		return fmt.Sprintf(`sum by (namespace, asset) (increase(%s{result=%q}[%s])) > 0`, runs, result, promDuration(failureWindow))
	}
	up := fmt.Sprintf(`up{job=%q}`, ControllerJob)
	return RuleFile{Groups: []RuleGroup{
		{Name: "fieldflow", Rules: []AlertRule{
			alert("FieldflowRunFailed", increased("failed"), 0, "warning",
				"fieldflow {{ $labels.asset }} runs failed in {{ $labels.namespace }}",
				"A process step failed for a reason other than invalid input (the store unreachable, a cut or stalled read, a pod killed). Each attempt is counted in the store; the reconcile runs the file again after its backoff until its attempts run out. `fieldflow status` shows each file's attempts and last error."),
			alert("FieldflowInputGaveUp",
				fmt.Sprintf(`max by (namespace) (%s{state=%q}) > 0`, FilesMetric.Exposed(), rules.Failed), 0, "critical",
				"fieldflow inputs in {{ $labels.namespace }} gave up after their attempts",
				"{{ $value }} inputs failed every attempt and are no longer retried. `fieldflow status` names each with its last error; fix the cause, then upload the file again or run `fieldflow retry --key KEY`."),
			alert("FieldflowInputQuarantined", increased("quarantined"), 0, "warning",
				"fieldflow quarantined a {{ $labels.asset }} input in {{ $labels.namespace }}",
				"An input had invalid lines: it was copied to quarantine/ with a report naming each bad line. Fix the file and upload it again; later files of its box wait for it."),
			alert("FieldflowFilesWaitingTooLong",
				fmt.Sprintf(`max by (namespace) (%s) > %d`, OldestWaitingMetric.Exposed(), int(waitingTooLong/time.Second)),
				15*time.Minute, "warning",
				"fieldflow inputs in {{ $labels.namespace }} have waited {{ $value | humanizeDuration }}",
				fmt.Sprintf("An input has waited more than %.0f hours for what it depends on", waitingTooLong.Hours())+", probably an upload that never came. `fieldflow status` says what each waiting file waits for."),
		}},
		{Name: "argo-events", Rules: []AlertRule{listenerStopped()}},
		{Name: "argo-workflows", Rules: []AlertRule{
			alert("ArgoWorkflowsControllerDown", fmt.Sprintf(`%s == 0 or absent(%s)`, up, up), 5*time.Minute, "critical",
				"Argo Workflows' controller cannot be scraped",
				"Prometheus has not scraped "+svc(deploy.ControllerMetricsService, deploy.ArgoNamespace, deploy.ControllerMetricsPort)+" for 5 minutes: the controller is down or unreachable, and no fieldflow alert can fire until it is back."),
		}},
	}}
}

// listenerStopped fires when an EventSource pod listens to fewer of its
// events than it did: Argo Events v1.9.7 lets one event's listener end
// while the pod runs on (a panic it recovers during a bus outage, or
// minio-go giving up on a reconnect that finds MinIO down), and only its
// own gauge shows it. The local engine restarts such a process itself.
func listenerStopped() AlertRule {
	g := "max by (namespace, eventsource_name, pod) (%s)"
	running := ArgoEventsPrefix + "event_service_running_total"
	return alert("ArgoEventsListenerStopped",
		fmt.Sprintf(g+" < "+g, running, "max_over_time("+running+"[1h])"), 2*time.Minute, "critical",
		"EventSource {{ $labels.eventsource_name }} stopped listening to an event in {{ $labels.namespace }}",
		"Pod {{ $labels.pod }} listens to fewer events than it did within the hour, and uploads of the missing event start no workflow until the reconcile (every 5 minutes) finds them. Its log says `recovered event source ... from panic` or `event source is stopped`. Delete the pod so that it is started again.")
}

func alert(name, expr string, wait time.Duration, severity, summary, description string) AlertRule {
	r := AlertRule{
		Alert:       name,
		Expr:        expr,
		Labels:      map[string]string{"severity": severity},
		Annotations: map[string]string{"summary": summary, "description": description},
	}
	if wait > 0 {
		r.For = promDuration(wait)
	}
	return r
}
