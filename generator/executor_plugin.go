package generator

import (
	"fmt"
	"strconv"

	"github.com/argoproj/argo-workflows/v3/pkg/plugins/spec"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	plugins "github.com/argoproj/argo-workflows/v3/workflow/util/plugins"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/generator/deploy"
	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/plugin"
)

// lightProfile is the sidecar's: one small server answers every plugin
// node of a workflow (checks, listings, submits), so little memory and no
// GPU whatever the assets' processing needs.
var lightProfile = pipeline.Profile{CPURequest: "50m", CPULimit: "500m", MemoryRequest: "32Mi", MemoryLimit: "128Mi"}

// agentGroup is the group the sidecar runs with. Argo's agent init
// container writes the sidecar's bearer token (plugin.TokenPath) mode
// 0440, as uid 8737 with no group set (common.MinimalCtrSC), so with the
// root group: a sidecar in any other group could not read it. Group 0
// grants nothing else here: the root filesystem is read-only and every
// capability is dropped.
const agentGroup = 0

// executorPlugin is the ConfigMap by which Argo's controller knows the
// fieldflow executor plugin (it must run with ARGO_EXECUTOR_PLUGINS=true),
// made by Argo's own ToConfigMap from the plugin's spec: the sidecar that
// every workflow's agent pod runs beside Argo's agent. The controller also
// mounts the token of the ServiceAccount plugin.ServiceAccount into it
// (automountServiceAccountToken), with which it creates Workflows.
func executorPlugin(c Config) (*corev1.ConfigMap, error) {
	ctr, err := sidecar(c)
	if err != nil {
		return nil, fmt.Errorf("executor plugin: %w", err)
	}
	cm, err := plugins.ToConfigMap(&spec.Plugin{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: common.LabelValueTypeConfigMapExecutorPlugin},
		ObjectMeta: metav1.ObjectMeta{
			Name:      plugin.Name,
			Namespace: c.Namespace,
			Labels:    labels(),
			Annotations: map[string]string{DescriptionAnnotation: "Runs the steps of the fieldflow templates that need no pod of their own " +
				"(checks, verdicts, listings, submits, status) on each workflow's agent."},
		},
		Spec: spec.PluginSpec{Sidecar: spec.Sidecar{AutomountServiceAccountToken: true, Container: *ctr}},
	})
	if err != nil {
		return nil, fmt.Errorf("executor plugin: %w", err)
	}
	if cm.Name != plugin.ConfigMap {
		return nil, fmt.Errorf("executor plugin: Argo names its ConfigMap %s, the contract %s", cm.Name, plugin.ConfigMap)
	}
	return cm, nil
}

// sidecar runs `fieldflow plugin` on plugin.Port with the pipeline
// settings and the store, as the workflow containers get them, but for
// the workflow's name: the plugin's ConfigMap is no template, so
// {{workflow.name}} would arrive as written; the sidecar learns the
// workflow from each request instead. The agent pod has no volume of
// fieldflow's, so nothing is mounted but what Argo adds (the token and the
// service account).
func sidecar(c Config) (*corev1.Container, error) {
	res, err := resources(lightProfile)
	if err != nil {
		return nil, err
	}
	sc := deploy.Locked()
	sc.RunAsUser = ptr(int64(runAs))
	sc.RunAsGroup = ptr(int64(agentGroup))
	return &corev1.Container{
		Name:            plugin.Container,
		Image:           c.Image,
		ImagePullPolicy: corev1.PullPolicy(c.ImagePullPolicy),
		Command:         []string{"fieldflow"},
		Args: []string{"plugin", "--port", strconv.Itoa(plugin.Port),
			"--token", plugin.TokenPath, "--serviceaccount", plugin.ServiceAccountDir},
		Ports:           []corev1.ContainerPort{{ContainerPort: plugin.Port}},
		Env:             append(settingsEnv(c), storeEnv(c)...),
		Resources:       res,
		SecurityContext: sc,
	}, nil
}
