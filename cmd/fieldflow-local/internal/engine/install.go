package engine

import (
	"context"
	"fmt"
	"log/slog"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Installed labels every object the engine installs. A later start
// deletes the labelled objects its manifests no longer hold, as `kubectl
// apply --prune` does with an apply set: what a run is given is exactly
// what is installed, whatever an earlier run on the same state installed.
const (
	InstalledLabel = "fieldflow.dev/installed-by"
	installedBy    = "fieldflow-local"
	fieldManager   = "fieldflow-local"
)

// installer applies objects server-side and prunes the ones it no longer
// installs.
type installer struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
	log    *slog.Logger
}

func newInstaller(cfg *rest.Config, log *slog.Logger) (*installer, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	groups, err := restmapper.GetAPIGroupResources(disc)
	if err != nil {
		return nil, fmt.Errorf("discover the API's resources: %w", err)
	}
	return &installer{dyn: dyn, mapper: restmapper.NewDiscoveryRESTMapper(groups), log: log}, nil
}

// objectID names one object across kinds and namespaces.
type objectID struct {
	resource  schema.GroupVersionResource
	namespace string
	name      string
}

// Install applies objs in order with server-side apply, labelled, then
// deletes every labelled object of the kinds prunable lists that objs do
// not hold. Workflows are not among them: those of earlier runs stay for
// inspection.
func (in *installer) Install(ctx context.Context, objs []*unstructured.Unstructured, prunable []schema.GroupVersionKind) error {
	keep := map[objectID]bool{}
	for _, obj := range objs {
		id, err := in.apply(ctx, obj)
		if err != nil {
			return err
		}
		keep[id] = true
	}
	for _, gvk := range prunable {
		if err := in.prune(ctx, gvk, keep); err != nil {
			return err
		}
	}
	return nil
}

func (in *installer) apply(ctx context.Context, obj *unstructured.Unstructured) (objectID, error) {
	u := labelled(obj)
	m, err := in.mapper.RESTMapping(u.GroupVersionKind().GroupKind(), u.GroupVersionKind().Version)
	if err != nil {
		return objectID{}, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	id := objectID{resource: m.Resource, namespace: u.GetNamespace(), name: u.GetName()}
	_, err = in.dyn.Resource(m.Resource).Namespace(id.namespace).Apply(ctx, id.name, u,
		metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
	if err != nil {
		return id, fmt.Errorf("apply %s %s/%s: %w", u.GetKind(), id.namespace, id.name, err)
	}
	return id, nil
}

// labelled is a copy of u with the installed label.
func labelled(u *unstructured.Unstructured) *unstructured.Unstructured {
	u = u.DeepCopy()
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[InstalledLabel] = installedBy
	u.SetLabels(labels)
	return u
}

// toUnstructured is an object the engine makes itself as an apply
// configuration, without the creationTimestamp and status a typed object
// always carries: a null in an apply claims the field, and a schema may
// not declare it.
func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("convert %T: %w", obj, err)
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u, nil
}

// prune deletes the labelled objects of one kind, in every namespace, that
// keep does not hold.
func (in *installer) prune(ctx context.Context, gvk schema.GroupVersionKind, keep map[objectID]bool) error {
	m, err := in.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("prune %s: %w", gvk.Kind, err)
	}
	list, err := in.dyn.Resource(m.Resource).List(ctx, metav1.ListOptions{LabelSelector: InstalledLabel + "=" + installedBy})
	if err != nil {
		return fmt.Errorf("prune %s: %w", gvk.Kind, err)
	}
	for _, u := range list.Items {
		id := objectID{resource: m.Resource, namespace: u.GetNamespace(), name: u.GetName()}
		if keep[id] {
			continue
		}
		err := in.dyn.Resource(m.Resource).Namespace(id.namespace).Delete(ctx, id.name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("prune %s %s/%s: %w", gvk.Kind, id.namespace, id.name, err)
		}
		in.log.Info("removed what the manifests no longer hold", "kind", gvk.Kind, "namespace", id.namespace, "name", id.name)
	}
	return nil
}
