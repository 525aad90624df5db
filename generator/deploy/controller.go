package deploy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/argoproj/argo-workflows/v3/workflow/common"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// Controller is how Argo's workflow controller runs for fieldflow. Argo's
// defaults suit long batch steps; fieldflow's steps take a second or less
// and an upload waits for several of them in a row (checks, process,
// release, submits), so what the controller adds between steps is most
// of an upload's latency.
type Controller struct {
	// RequeueTime is DEFAULT_REQUEUE_TIME: how long the controller waits
	// before it operates on a workflow again after a change. Argo's 10s
	// adds about 10s per DAG level. 1s is the least Argo's rate limiter
	// advises (below it the informers are likely behind the workflow
	// operated on) and the least allowed here.
	RequeueTime metav1.Duration `json:"requeueTime"`
	// AgentPatchRate is ARGO_AGENT_PATCH_RATE, which the controller hands
	// to every agent pod: how often the agent reports the plugin nodes it
	// finished. It defaults to the requeue time; it is set all the same
	// so that the value is plain to see.
	AgentPatchRate metav1.Duration `json:"agentPatchRate"`
	// WorkflowWorkers is ARGO_WORKFLOW_WORKERS, how many workflows the
	// controller operates on at once: every upload is a workflow, and a
	// backlog drained by the reconcile is a page of them. Argo's default,
	// 32, is enough for that; it is pinned here so that the local engine
	// and a cluster run the same.
	WorkflowWorkers int `json:"workflowWorkers"`
	// QPS and Burst are ARGO_QPS and ARGO_BURST, the controller's own
	// rate limit on the Kubernetes API (Argo: 20 and 30). A burst of
	// uploads is a burst of workflows, each a few dozen writes (pods, task
	// sets, node status); behind a client-side limit the controller
	// queues them and every file waits. At 50 and 100 the demo's 63
	// uploads took twice as long as at 100 and 200 (`make bench`, cost);
	// 200 and 400 gained a few percent more, not worth a shared API
	// server's load.
	QPS   float32 `json:"qps"`
	Burst int     `json:"burst"`
}

// DefaultController is the controller fieldflow is written for.
func DefaultController() Controller {
	return Controller{
		RequeueTime:     metav1.Duration{Duration: time.Second},
		AgentPatchRate:  metav1.Duration{Duration: time.Second},
		WorkflowWorkers: 32,
		QPS:             100,
		Burst:           200,
	}
}

// Validate refuses settings the controller would misread or that would
// stall it.
func (c Controller) Validate() error {
	var errs []error
	if c.RequeueTime.Duration < time.Second {
		errs = append(errs, fmt.Errorf("requeueTime %s: want at least 1s", c.RequeueTime.Duration))
	}
	if c.AgentPatchRate.Duration <= 0 {
		errs = append(errs, fmt.Errorf("agentPatchRate %s: want more than 0", c.AgentPatchRate.Duration))
	}
	if c.WorkflowWorkers < 1 {
		errs = append(errs, fmt.Errorf("workflowWorkers %d: want at least 1", c.WorkflowWorkers))
	}
	if c.QPS <= 0 {
		errs = append(errs, fmt.Errorf("qps %v: want more than 0", c.QPS))
	}
	if c.Burst < 1 {
		errs = append(errs, fmt.Errorf("burst %d: want at least 1", c.Burst))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	return nil
}

// Env is the controller's environment for c, in a fixed order: executor
// plugins on, and the settings above. The controller's main binds every
// flag to the environment through viper (prefix ARGO, dashes as
// underscores); the requeue time and the agent's patch rate are read from
// the environment directly.
func (c Controller) Env() []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: flagEnv("executor-plugins"), Value: "true"},
		{Name: common.EnvVarDefaultRequeueTime, Value: c.RequeueTime.Duration.String()},
		{Name: common.EnvAgentPatchRate, Value: c.AgentPatchRate.Duration.String()},
		{Name: flagEnv("workflow-workers"), Value: strconv.Itoa(c.WorkflowWorkers)},
		{Name: flagEnv("qps"), Value: strconv.FormatFloat(float64(c.QPS), 'f', -1, 32)},
		{Name: flagEnv("burst"), Value: strconv.Itoa(c.Burst)},
	}
}

// flagEnv is the environment variable the workflow controller reads a
// flag from (cmd/workflow-controller/main.go: viper.SetEnvPrefix("ARGO")
// and a replacer of "-" by "_").
func flagEnv(flag string) string {
	return "ARGO_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// ControllerPatchFile is the minikube overlay's patch of the release's
// workflow-controller Deployment, under Root; kustomize/embed.go embeds it
// for the local engine.
const (
	controllerPatchName = "workflow-controller.yaml"
	ControllerPatchFile = minikubeOverlay + "argo-workflows/" + controllerPatchName
)

// controllerDeployment and controllerContainer are the release's names.
const (
	controllerDeployment = "workflow-controller"
	controllerContainer  = "workflow-controller"
)

// controllerPatch sets c's environment on the release's controller, as a
// strategic merge patch: the env entries merge into the release's by name
// and nothing else is touched. The settings go in as env, not args: the
// container's args are a list without a merge key, which a patch would
// replace whole.
func controllerPatch(c Controller) (File, error) {
	if err := c.Validate(); err != nil {
		return File{}, err
	}
	ctr := corev1ac.Container().WithName(controllerContainer)
	for _, e := range c.Env() {
		ctr.WithEnv(corev1ac.EnvVar().WithName(e.Name).WithValue(e.Value))
	}
	d := appsv1ac.Deployment(controllerDeployment, ArgoNamespace).WithSpec(appsv1ac.DeploymentSpec().
		WithTemplate(corev1ac.PodTemplateSpec().WithSpec(corev1ac.PodSpec().WithContainers(ctr))))
	return File{Path: Root + ControllerPatchFile, Objects: []any{d}}, nil
}
