package controller

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/kustomize"
)

// controllerContainer is the container of Argo's workflow-controller
// Deployment that the generated patch sets the environment of.
const controllerContainer = "workflow-controller"

// Settings are the controller's settings as the generated minikube
// overlay gives a cluster's controller (its Deployment patch), so that
// the local controller runs with exactly the values a cluster gets.
type Settings struct {
	ExecutorPlugins bool    // ARGO_EXECUTOR_PLUGINS: plugin nodes run in the agent
	Workers         int     // ARGO_WORKFLOW_WORKERS
	QPS             float32 // ARGO_QPS: the controller's API client
	Burst           int     // ARGO_BURST
	// Env is what the controller package reads from the process
	// environment itself (DEFAULT_REQUEUE_TIME, ARGO_AGENT_PATCH_RATE, which
	// it also hands the agent pods).
	Env map[string]string
}

// envSettings are the variables the controller package reads from the
// environment; the others of the patch are flags of Argo's
// workflow-controller command (bound to ARGO_* variables), which the
// engine applies itself.
var envSettings = map[string]bool{"DEFAULT_REQUEUE_TIME": true, "ARGO_AGENT_PATCH_RATE": true}

// RenderedSettings reads the settings from the generated patch.
func RenderedSettings() (Settings, error) {
	return ReadSettings(kustomize.ControllerPatch)
}

// ReadSettings reads a workflow-controller Deployment patch. A variable
// the engine does not know how to apply is an error: a setting must never
// silently differ between the cluster and the engine.
func ReadSettings(patch []byte) (Settings, error) {
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(patch, &d); err != nil {
		return Settings{}, fmt.Errorf("controller patch: %w", err)
	}
	s := Settings{Workers: 32, QPS: 20, Burst: 30, Env: map[string]string{}} // Argo's defaults
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name != controllerContainer {
			continue
		}
		for _, e := range c.Env {
			if err := s.set(e.Name, e.Value); err != nil {
				return Settings{}, fmt.Errorf("controller patch: %s=%q: %w", e.Name, e.Value, err)
			}
		}
	}
	return s, nil
}

func (s *Settings) set(name, v string) error {
	var err error
	switch {
	case name == "ARGO_EXECUTOR_PLUGINS":
		s.ExecutorPlugins, err = strconv.ParseBool(v)
	case name == "ARGO_WORKFLOW_WORKERS":
		s.Workers, err = strconv.Atoi(v)
	case name == "ARGO_QPS":
		var f float64
		f, err = strconv.ParseFloat(v, 32)
		s.QPS = float32(f)
	case name == "ARGO_BURST":
		s.Burst, err = strconv.Atoi(v)
	case envSettings[name]:
		s.Env[name] = v
	default:
		err = fmt.Errorf("fieldflow-local does not apply this setting")
	}
	return err
}
