package engine

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	argoevents "github.com/fieldflow/fieldflow/argo-events"
	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/templates"
)

// Manifests are the generated objects the engine runs: what `make
// generate` wrote into templates/ and argo-events/.
type Manifests struct {
	Templates []*wfv1.WorkflowTemplate
	Crons     []*wfv1.CronWorkflow
	Accounts  []*corev1.ServiceAccount
	Roles     []*rbacv1.Role
	Bindings  []*rbacv1.RoleBinding
	Configs   []*corev1.ConfigMap
	Secrets   []*corev1.Secret // service account tokens; never credentials
	Sensors   []*ev.Sensor
	Sources   []*ev.EventSource
	Namespace string

	// installs are the documents of the kinds the engine installs, as
	// written: what `kubectl apply` would send, not the typed objects
	// marshalled again (those carry nulls the files may not).
	installs []*unstructured.Unstructured
}

// LoadManifests reads the embedded copies, or dir/templates and
// dir/argo-events when dir is set.
func LoadManifests(dir string) (*Manifests, error) {
	tfs, efs := fs.FS(templates.FS), fs.FS(argoevents.FS)
	if dir != "" {
		tfs, efs = os.DirFS(filepath.Join(dir, "templates")), os.DirFS(filepath.Join(dir, "argo-events"))
	}
	m := &Manifests{}
	for _, fsys := range []fs.FS{tfs, efs} {
		paths, err := fs.Glob(fsys, "*.yaml")
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			if p == "kustomization.yaml" {
				continue // kustomize's list of the folder's files, no object
			}
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return nil, err
			}
			for _, doc := range strings.Split(string(b), "\n---\n") {
				if err := m.add([]byte(doc)); err != nil {
					return nil, fmt.Errorf("%s: %w", p, err)
				}
			}
		}
	}
	if len(m.Templates) == 0 {
		return nil, fmt.Errorf("no WorkflowTemplates in the manifests")
	}
	m.Namespace = m.Templates[0].Namespace
	return m, nil
}

// add decodes one object strictly into its type.
func (m *Manifests) add(doc []byte) error {
	var meta metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return err
	}
	var into any
	switch meta.Kind {
	case "WorkflowTemplate":
		into = appendNew(&m.Templates)
	case "CronWorkflow":
		into = appendNew(&m.Crons)
	case "ServiceAccount":
		into = appendNew(&m.Accounts)
	case "Role":
		into = appendNew(&m.Roles)
	case "RoleBinding":
		into = appendNew(&m.Bindings)
	case "ConfigMap":
		into = appendNew(&m.Configs)
	case "Secret":
		into = appendNew(&m.Secrets)
	case "Sensor":
		into = appendNew(&m.Sensors)
	case "EventSource":
		into = appendNew(&m.Sources)
	case "EventBus":
		// fieldflow-events embeds the bus; the object is installed for
		// Argo's UI to show, as are the EventSources and Sensors.
		into = new(ev.EventBus)
	case "":
		return nil
	default:
		return fmt.Errorf("unexpected kind %q", meta.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		return err
	}
	if slices.ContainsFunc(prunable, func(k schema.GroupVersionKind) bool { return k.Kind == meta.Kind }) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			return err
		}
		m.installs = append(m.installs, u)
	}
	return nil
}

func appendNew[T any](list *[]*T) *T {
	v := new(T)
	*list = append(*list, v)
	return v
}

// prunable are the kinds the engine installs. A start deletes the
// objects of these kinds an earlier start installed and its manifests no
// longer hold.
var prunable = []schema.GroupVersionKind{
	corev1.SchemeGroupVersion.WithKind("ServiceAccount"),
	rbacv1.SchemeGroupVersion.WithKind("Role"),
	rbacv1.SchemeGroupVersion.WithKind("RoleBinding"),
	corev1.SchemeGroupVersion.WithKind("ConfigMap"),
	corev1.SchemeGroupVersion.WithKind("Secret"),
	ev.SchemeGroupVersion.WithKind("EventBus"),
	ev.SchemeGroupVersion.WithKind("EventSource"),
	ev.SchemeGroupVersion.WithKind("Sensor"),
	wfv1.SchemeGroupVersion.WithKind("WorkflowTemplate"),
	wfv1.SchemeGroupVersion.WithKind("CronWorkflow"),
}

// Objects are the documents to install, in the order prunable lists
// their kinds: accounts and their rights before the templates that use
// them.
func (m *Manifests) Objects() []*unstructured.Unstructured {
	rank := func(u *unstructured.Unstructured) int {
		return slices.IndexFunc(prunable, func(k schema.GroupVersionKind) bool { return k.Kind == u.GetKind() })
	}
	out := slices.Clone(m.installs)
	slices.SortStableFunc(out, func(a, b *unstructured.Unstructured) int { return rank(a) - rank(b) })
	return out
}

// Pipeline is the pipeline the manifests' pods run: built from their
// pipeline ConfigMap, as the pods' environment is. The engine judges
// inputs by it (its watcher, status, reconcile and --once's end), so that
// a setting edited in the manifests (START_DATE, a prefix) changes the
// engine's decisions and the pods' alike.
func (m *Manifests) Pipeline() (*pipeline.Pipeline, error) {
	for _, cm := range m.Configs {
		if cm.Name == pipeline.ConfigMap {
			p, err := pipeline.FromData(cm.Data)
			if err != nil {
				return nil, fmt.Errorf("ConfigMap %s of the manifests: %w", cm.Name, err)
			}
			return p, nil
		}
	}
	return nil, fmt.Errorf("the manifests hold no ConfigMap %s", pipeline.ConfigMap)
}

// createNamespace creates the manifests' namespace unless it exists. It is
// never pruned: it holds the workflows of earlier runs.
func (m *Manifests) createNamespace(ctx context.Context, kube kubernetes.Interface) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: m.Namespace}}
	_, err := kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s: %w", m.Namespace, err)
	}
	return nil
}
