package kubelet

import (
	"context"
	"fmt"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// resource performs a resource template's action, as Argo's executor
// would; the controller has already substituted the manifest. Only
// create is used by fieldflow's templates.
func (k *Kubelet) resource(ctx context.Context, pod *corev1.Pod, tmpl *wfv1.Template) outcome {
	if tmpl.Resource.Action != "create" {
		return outcome{exitCode: 1, message: fmt.Sprintf("resource action %q is not supported locally", tmpl.Resource.Action)}
	}
	obj := &unstructured.Unstructured{}
	js, err := yaml.YAMLToJSON([]byte(tmpl.Resource.Manifest))
	if err == nil {
		err = obj.UnmarshalJSON(js)
	}
	if err != nil {
		return outcome{exitCode: 1, message: "manifest: " + err.Error()}
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(pod.Namespace)
	}
	gvk := obj.GroupVersionKind()
	gvr := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: plural(gvk.Kind)}
	created, err := k.Dynamic.Resource(gvr).Namespace(obj.GetNamespace()).Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return outcome{exitCode: 1, message: fmt.Sprintf("create %s: %v", gvk.Kind, err)}
	}
	k.Log.Debug("created", "kind", gvk.Kind, "name", created.GetName())
	// No outputs.result: Argo's executor sets none for resource templates,
	// and a withParam task group would try to read it as JSON.
	return outcome{outputs: &wfv1.Outputs{}}
}

// plural names the resource of the kinds fieldflow creates.
func plural(kind string) string {
	switch kind {
	case "Workflow":
		return "workflows"
	}
	return strings.ToLower(kind) + "s"
}
