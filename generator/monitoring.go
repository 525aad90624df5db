package generator

import (
	"fmt"
	"strconv"
	"time"

	"github.com/fieldflow/fieldflow/generator/deploy"
)

// Where the monitoring stack runs and what it scrapes. These are the names
// kustomize/components/monitoring deploys under; they are not in Config
// because nothing in a deployment's config changes them.
const (
	// MonitoringNamespace holds Prometheus, Grafana and kube-state-metrics.
	MonitoringNamespace = deploy.MonitoringNamespace
	// DatasourceUID is the Prometheus datasource Grafana is provisioned
	// with; every dashboard query names it.
	DatasourceUID = "fieldflow-prometheus"

	// Scrape job names; alerts and the "Controller up" panel select on
	// ControllerJob.
	ControllerJob       = "argo-workflows-controller"
	cadvisorJob         = "kubernetes-cadvisor"
	kubeStateMetricsJob = "kube-state-metrics"
	argoEventsJob       = "argo-events"

	// workflowPodLabel is the label Argo puts on every workflow pod, as
	// kube-state-metrics exports it when run with
	// --metric-labels-allowlist=pods=[workflows.argoproj.io/workflow].
	workflowPodLabel = "label_workflows_argoproj_io_workflow"
)

// Alert thresholds.
const (
	// waitingTooLong is how long an input may wait before someone should
	// look: far past a box's processing time, so it waits for an upload
	// that may never come.
	waitingTooLong = 2 * time.Hour
	// failureWindow is how far back a failed or quarantined run keeps
	// its alert firing.
	failureWindow = 15 * time.Minute
)

// svc is the in-cluster address of a Service.
func svc(name, namespace string, port int) string {
	return fmt.Sprintf("%s.%s.svc:%d", name, namespace, port)
}

// promDuration writes d as Prometheus writes durations: whole minutes as
// "15m", else seconds.
func promDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d/time.Second)) + "s"
}
