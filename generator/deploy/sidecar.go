package deploy

import (
	"fmt"
	"slices"

	plugins "github.com/argoproj/argo-workflows/v3/workflow/util/plugins"
	corev1 "k8s.io/api/core/v1"
)

// sidecarKey is where an executor plugin's ConfigMap holds its sidecar
// container, as YAML (workflow/util/plugins.ToConfigMap).
const sidecarKey = "sidecar.container"

// withdrawSidecarEnv removes the Withdrawn variables from the sidecar of
// the executor plugin's ConfigMap cm. The container is one YAML string,
// so it is replaced whole, by what Argo's ToConfigMap writes for the
// container without them; a test of the string first makes a ConfigMap
// changed without `make generate` fail the build instead of losing what
// it added.
func withdrawSidecarEnv(cm *corev1.ConfigMap) ([]JSONPatchOp, error) {
	p, err := plugins.FromConfigMap(cm)
	if err != nil {
		return nil, fmt.Errorf("executor plugin %s: %w", cm.Name, err)
	}
	ctr := &p.Spec.Sidecar.Container
	ctr.Env = slices.DeleteFunc(ctr.Env, func(e corev1.EnvVar) bool { return slices.Contains(Withdrawn, e.Name) })
	withdrawn, err := plugins.ToConfigMap(p)
	if err != nil {
		return nil, fmt.Errorf("executor plugin %s: %w", cm.Name, err)
	}
	path := "/data/" + sidecarKey
	return []JSONPatchOp{
		{Op: "test", Path: path, Value: cm.Data[sidecarKey]},
		{Op: "replace", Path: path, Value: withdrawn.Data[sidecarKey]},
	}, nil
}
