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
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// resource performs a resource template's action, as Argo's executor
// would; the controller has already substituted the manifest. Only
// create is used by fieldflow's templates.
//
// Argo's executor acts with the pod's service account token, so a
// workflow can do only what its Role allows. The kubelet holds the admin's
// credentials instead: it acts as the pod's service account by
// impersonation, so that the API server applies that account's RBAC, and
// only in the pod's namespace.
func (k *Kubelet) resource(ctx context.Context, pod *corev1.Pod, tmpl *wfv1.Template) outcome {
	if tmpl.Resource.Action != "create" {
		return outcome{exitCode: 1, message: fmt.Sprintf("resource action %q is not supported locally", tmpl.Resource.Action)}
	}
	obj, err := manifest(tmpl.Resource.Manifest, pod.Namespace)
	if err != nil {
		return outcome{exitCode: 1, message: err.Error()}
	}
	client, err := k.asServiceAccount(pod)
	if err != nil {
		return outcome{exitCode: 1, message: err.Error()}
	}
	gvk := obj.GroupVersionKind()
	gvr := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: plural(gvk.Kind)}
	created, err := client.Resource(gvr).Namespace(obj.GetNamespace()).Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return outcome{exitCode: 1, message: fmt.Sprintf("create %s: %v", gvk.Kind, err)}
	}
	k.Log.Debug("created", "kind", gvk.Kind, "name", created.GetName(), "as", serviceAccountUser(pod))
	// No outputs.result: Argo's executor sets none for resource templates,
	// and a withParam task group would try to read it as JSON.
	return outcome{outputs: &wfv1.Outputs{}}
}

// manifest parses a resource template's manifest, in namespace ns unless
// it names none: then it goes to ns, as with kubectl in the pod.
func manifest(text, ns string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	js, err := yaml.YAMLToJSON([]byte(text))
	if err == nil {
		err = obj.UnmarshalJSON(js)
	}
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	switch obj.GetNamespace() {
	case "":
		obj.SetNamespace(ns)
	case ns:
	default:
		return nil, fmt.Errorf("resource template creates %s %q in namespace %q: fieldflow-local performs resource templates only in the pod's namespace %q",
			obj.GetKind(), obj.GetName()+obj.GetGenerateName(), obj.GetNamespace(), ns)
	}
	return obj, nil
}

// asServiceAccount is a client that acts as the pod's service account.
func (k *Kubelet) asServiceAccount(pod *corev1.Pod) (dynamic.Interface, error) {
	cfg := rest.CopyConfig(k.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: serviceAccountUser(pod)}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client as %s: %w", cfg.Impersonate.UserName, err)
	}
	return client, nil
}

// serviceAccountUser is the user name the pod's service account token
// would authenticate as.
func serviceAccountUser(pod *corev1.Pod) string {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	return serviceaccount.MakeUsername(pod.Namespace, sa)
}

// plural names the resource of the kinds fieldflow creates.
func plural(kind string) string {
	switch kind {
	case "Workflow":
		return "workflows"
	}
	return strings.ToLower(kind) + "s"
}
