package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/argoproj/argo-workflows/v3/workflow/common"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// executorRole lets workflow pods (service account "default") report their
// outputs, as Argo's executor does with WorkflowTaskResults.
const executorRole = "fieldflow-executor"

// installNamespace creates the namespace, its "default" ServiceAccount (there
// is no controller-manager to create it), the controller's ConfigMap and the
// executor's Role and RoleBinding, leaving existing objects as they are but
// for the ConfigMap, which takes the options of this start.
func installNamespace(ctx context.Context, client kubernetes.Interface, o Options) error {
	ns := o.Namespace
	steps := []struct {
		what string
		do   func() error
	}{
		{"namespace", func() error { return createNamespace(ctx, client, ns) }},
		{"service account", func() error { return createServiceAccount(ctx, client, ns) }},
		{"configmap", func() error { return applyConfigMap(ctx, client, ns, o.PodGCDelay) }},
		{"executor role", func() error { return createExecutorRBAC(ctx, client, ns) }},
	}
	for _, s := range steps {
		if err := ignoreExists(s.do()); err != nil {
			return fmt.Errorf("create %s in %s: %w", s.what, ns, err)
		}
	}
	return nil
}

func ignoreExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func createNamespace(ctx context.Context, client kubernetes.Interface, ns string) error {
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	_, err := client.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{})
	return err
}

func createServiceAccount(ctx context.Context, client kubernetes.Interface, ns string) error {
	obj := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
	_, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, obj, metav1.CreateOptions{})
	return err
}

// applyConfigMap creates the controller's ConfigMap, or updates the one an
// earlier start of the same state folder left.
func applyConfigMap(ctx context.Context, client kubernetes.Interface, ns string, podGCDelay time.Duration) error {
	data := map[string]string{
		"executor": "imagePullPolicy: IfNotPresent\n",
		// Metrics go to the default Prometheus registry, which the
		// engine serves on a loopback address (the controller's own
		// server is not started: it would listen on every interface).
		"metricsConfig": "enabled: true\nsecure: false\n",
	}
	if podGCDelay > 0 {
		data["podGCDeleteDelayDuration"] = podGCDelay.String()
	}
	maps := client.CoreV1().ConfigMaps(ns)
	cm, err := maps.Get(ctx, common.ConfigMapName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: common.ConfigMapName, Namespace: ns}, Data: data}
		_, err = maps.Create(ctx, obj, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	cm.Data = data
	_, err = maps.Update(ctx, cm, metav1.UpdateOptions{})
	return err
}

func createExecutorRBAC(ctx context.Context, client kubernetes.Interface, ns string) error {
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: executorRole, Namespace: ns},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"argoproj.io"},
			Resources: []string{"workflowtaskresults"},
			Verbs:     []string{"create", "patch"},
		}},
	}
	if _, err := client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return err
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: executorRole, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: executorRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "default", Namespace: ns}},
	}
	_, err := client.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{})
	return err
}
