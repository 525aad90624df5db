package deploy

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/types"
)

// Pinned images of the monitoring stack.
const (
	PrometheusImage       = "prom/prometheus:v3.5.0"
	KubeStateMetricsImage = "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.16.0"
	GrafanaImage          = "grafana/grafana:12.1.1"
)

// What the monitoring component deploys and where. The Service names and
// ports are those prometheus.yml scrapes and Grafana's datasource names.
// The monitoring Services, as the generator's scrape targets and Grafana's
// datasource address them.
const (
	PrometheusService       = "prometheus"
	PrometheusPort          = 9090
	GrafanaService          = "grafana"
	GrafanaPort             = 3000
	KubeStateMetricsService = "kube-state-metrics"
	KubeStateMetricsPort    = 8080
)

const (
	MonitoringNamespace = "fieldflow-monitoring"
	monitoringDir       = Root + "components/monitoring/"
	// The generator's monitoring files, turned into ConfigMaps here.
	PrometheusFile   = "prometheus/prometheus.yml"
	RulesFile        = "prometheus/rules.yml"
	DashboardFile    = "grafana/fieldflow-dashboard.json"
	DatasourcesFile  = "grafana/datasources.yaml"
	DashboardsFile   = "grafana/dashboards.yaml"
	dashboardDir     = "/var/lib/grafana/dashboards/fieldflow"
	prometheusConfig = "prometheus-config"
)

// PrometheusRules is what Prometheus reads for its scrape config:
// kubernetes_sd node discovery and cAdvisor through the API server's node
// proxy, plus services, endpoints and pods for service discovery.
var PrometheusRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"nodes", "nodes/proxy", "nodes/metrics", "services", "endpoints", "pods"}, Verbs: []string{"get", "list", "watch"}},
}

// KubeStateMetricsRules: it runs with --resources=pods, the one resource
// the dashboard needs (kube_pod_labels joins pods to workflows).
var KubeStateMetricsRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "watch"}},
}

// monitoring is the Component: Prometheus, kube-state-metrics and Grafana
// in their own namespace. Every object names its namespace itself, since
// a component's namespace field would move the including overlay's
// objects too.
func monitoring() []File {
	k := kustomization()
	k.TypeMeta = types.TypeMeta{APIVersion: types.ComponentVersion, Kind: types.ComponentKind}
	k.Resources = []string{"namespace.yaml", "prometheus.yaml", "kube-state-metrics.yaml", "grafana.yaml"}
	k.ConfigMapGenerator = []types.ConfigMapArgs{
		configMapFiles(prometheusConfig, PrometheusFile, RulesFile),
		configMapFiles("grafana-datasources", DatasourcesFile),
		configMapFiles("grafana-dashboard-providers", DashboardsFile),
		configMapFiles("grafana-dashboards", DashboardFile),
	}
	return []File{
		{Path: monitoringDir + "kustomization.yaml", Objects: []any{k}},
		{Path: monitoringDir + "namespace.yaml", Objects: []any{namespace(MonitoringNamespace)}},
		{Path: monitoringDir + "prometheus.yaml", Objects: prometheus()},
		{Path: monitoringDir + "kube-state-metrics.yaml", Objects: kubeStateMetrics()},
		{Path: monitoringDir + "grafana.yaml", Objects: grafana()},
	}
}

func configMapFiles(name string, files ...string) types.ConfigMapArgs {
	return types.ConfigMapArgs{GeneratorArgs: types.GeneratorArgs{
		Namespace: MonitoringNamespace, Name: name, KvPairSources: types.KvPairSources{FileSources: files},
	}}
}

// nobody is the uid the Prometheus and kube-state-metrics images run as.
const nobody = 65534

func prometheus() []any {
	ctr := corev1.Container{
		Name:  "prometheus",
		Image: PrometheusImage,
		Args: []string{
			"--config.file=/etc/prometheus/prometheus.yml",
			"--storage.tsdb.path=/prometheus",
			"--storage.tsdb.retention.time=7d",
		},
		Ports:          []corev1.ContainerPort{containerPort("web", 9090)},
		ReadinessProbe: httpProbe("/-/ready", "web"),
		Resources:      limits("100m", "256Mi", "1", "1Gi"),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "config", MountPath: "/etc/prometheus", ReadOnly: true},
			{Name: "data", MountPath: "/prometheus"},
		},
		SecurityContext: Locked(),
	}
	pod := corev1.PodSpec{
		ServiceAccountName: "prometheus",
		SecurityContext:    podSecurity(nobody),
		Containers:         []corev1.Container{ctr},
		Volumes:            []corev1.Volume{configMapVolume("config", prometheusConfig), emptyDir("data")},
	}
	return append(clusterReader(MonitoringNamespace, "prometheus", PrometheusRules),
		deployment(MonitoringNamespace, PrometheusService, pod),
		service(MonitoringNamespace, PrometheusService, port("web", PrometheusPort)),
	)
}

func kubeStateMetrics() []any {
	ctr := corev1.Container{
		Name:  "kube-state-metrics",
		Image: KubeStateMetricsImage,
		Args: []string{
			"--resources=pods",
			"--metric-labels-allowlist=pods=[workflows.argoproj.io/workflow]",
			"--port=" + strconv.Itoa(KubeStateMetricsPort),
			"--telemetry-port=8081",
		},
		Ports:           []corev1.ContainerPort{containerPort("http-metrics", KubeStateMetricsPort), containerPort("telemetry", 8081)},
		ReadinessProbe:  httpProbe("/readyz", "telemetry"),
		Resources:       limits("10m", "64Mi", "200m", "256Mi"),
		SecurityContext: Locked(),
	}
	pod := corev1.PodSpec{
		ServiceAccountName: "kube-state-metrics",
		SecurityContext:    podSecurity(nobody),
		Containers:         []corev1.Container{ctr},
	}
	return append(clusterReader(MonitoringNamespace, "kube-state-metrics", KubeStateMetricsRules),
		deployment(MonitoringNamespace, KubeStateMetricsService, pod),
		service(MonitoringNamespace, KubeStateMetricsService, port("http-metrics", KubeStateMetricsPort)),
	)
}

// grafanaUser is the uid of the Grafana image.
const grafanaUser = 472

// grafana reads the provisioned datasource and dashboard; anonymous users
// may view, so a local deployment needs no login to watch runs. It never
// talks to the Kubernetes API: no service account token.
func grafana() []any {
	ctr := corev1.Container{
		Name:  "grafana",
		Image: GrafanaImage,
		Env: []corev1.EnvVar{
			{Name: "GF_AUTH_ANONYMOUS_ENABLED", Value: "true"},
			{Name: "GF_AUTH_ANONYMOUS_ORG_ROLE", Value: "Viewer"},
			{Name: "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", Value: dashboardDir + "/fieldflow-dashboard.json"},
			{Name: "GF_PATHS_LOGS", Value: "/var/lib/grafana/log"},
		},
		Ports:          []corev1.ContainerPort{containerPort("http", GrafanaPort)},
		ReadinessProbe: httpProbe("/api/health", "http"),
		Resources:      limits("50m", "128Mi", "500m", "512Mi"),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "data", MountPath: "/var/lib/grafana"},
			{Name: "tmp", MountPath: "/tmp"},
			{Name: "datasources", MountPath: "/etc/grafana/provisioning/datasources", ReadOnly: true},
			{Name: "dashboard-providers", MountPath: "/etc/grafana/provisioning/dashboards", ReadOnly: true},
			{Name: "dashboards", MountPath: dashboardDir, ReadOnly: true},
		},
		SecurityContext: Locked(),
	}
	pod := corev1.PodSpec{
		AutomountServiceAccountToken: ptr(false),
		SecurityContext:              podSecurity(grafanaUser),
		Containers:                   []corev1.Container{ctr},
		Volumes: []corev1.Volume{
			emptyDir("data"), emptyDir("tmp"),
			configMapVolume("datasources", "grafana-datasources"),
			configMapVolume("dashboard-providers", "grafana-dashboard-providers"),
			configMapVolume("dashboards", "grafana-dashboards"),
		},
	}
	return []any{
		deployment(MonitoringNamespace, GrafanaService, pod),
		service(MonitoringNamespace, GrafanaService, port("http", GrafanaPort)),
	}
}
