package engine

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	argoevents "github.com/fieldflow/fieldflow/argo-events"
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
	Sensors   []*ev.Sensor
	Sources   []*ev.EventSource
	Namespace string
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
	case "Sensor":
		into = appendNew(&m.Sensors)
	case "EventSource":
		into = appendNew(&m.Sources)
	case "EventBus", "":
		return nil // no event bus locally: events go straight to the sensors
	default:
		return fmt.Errorf("unexpected kind %q", meta.Kind)
	}
	return yaml.UnmarshalStrict(doc, into)
}

func appendNew[T any](list *[]*T) *T {
	v := new(T)
	*list = append(*list, v)
	return v
}

// Apply creates the namespace, its default service account (no
// controller-manager makes it), the RBAC, the ConfigMaps the pods read and
// the Argo objects; existing objects are replaced so that a changed
// template takes effect.
func (m *Manifests) Apply(ctx context.Context, kube kubernetes.Interface, argo wfclientset.Interface) error {
	ns := m.Namespace
	if err := ignoreExists(kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})); err != nil {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	accounts := append([]*corev1.ServiceAccount{{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}}, m.Accounts...)
	for _, sa := range accounts {
		if err := ignoreExists(kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{})); err != nil {
			return fmt.Errorf("service account %s: %w", sa.Name, err)
		}
	}
	for _, r := range m.Roles {
		if err := replace(ctx, r.Name, kube.RbacV1().Roles(ns).Delete, func() error {
			_, err := kube.RbacV1().Roles(ns).Create(ctx, r, metav1.CreateOptions{})
			return err
		}); err != nil {
			return fmt.Errorf("role %s: %w", r.Name, err)
		}
	}
	for _, b := range m.Bindings {
		if err := replace(ctx, b.Name, kube.RbacV1().RoleBindings(ns).Delete, func() error {
			_, err := kube.RbacV1().RoleBindings(ns).Create(ctx, b, metav1.CreateOptions{})
			return err
		}); err != nil {
			return fmt.Errorf("role binding %s: %w", b.Name, err)
		}
	}
	for _, cm := range m.Configs {
		if err := replace(ctx, cm.Name, kube.CoreV1().ConfigMaps(ns).Delete, func() error {
			_, err := kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
			return err
		}); err != nil {
			return fmt.Errorf("config map %s: %w", cm.Name, err)
		}
	}
	for _, wt := range m.Templates {
		if err := replace(ctx, wt.Name, argo.ArgoprojV1alpha1().WorkflowTemplates(ns).Delete, func() error {
			_, err := argo.ArgoprojV1alpha1().WorkflowTemplates(ns).Create(ctx, wt, metav1.CreateOptions{})
			return err
		}); err != nil {
			return fmt.Errorf("workflow template %s: %w", wt.Name, err)
		}
	}
	for _, cw := range m.Crons {
		if err := replace(ctx, cw.Name, argo.ArgoprojV1alpha1().CronWorkflows(ns).Delete, func() error {
			_, err := argo.ArgoprojV1alpha1().CronWorkflows(ns).Create(ctx, cw, metav1.CreateOptions{})
			return err
		}); err != nil {
			return fmt.Errorf("cron workflow %s: %w", cw.Name, err)
		}
	}
	return nil
}

func replace(ctx context.Context, name string, del func(context.Context, string, metav1.DeleteOptions) error, create func() error) error {
	if err := del(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return create()
}

func ignoreExists[T any](_ T, err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
