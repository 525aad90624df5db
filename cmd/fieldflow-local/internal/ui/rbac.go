package ui

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Account is the ServiceAccount whose token logs a user into the UI.
const Account = "fieldflow-ui"

// rules are what a user of the UI does in the namespace: run, resubmit,
// stop and delete workflows, edit templates and cron workflows, read the
// event path's objects, read pods and their logs. No Secrets.
var rules = []rbacv1.PolicyRule{
	{
		APIGroups: []string{"argoproj.io"},
		Resources: []string{"workflows", "workflowtemplates", "cronworkflows", "workfloweventbindings"},
		Verbs:     []string{"get", "list", "watch", "create", "update", "patch", "delete"},
	},
	{
		APIGroups: []string{"argoproj.io"},
		Resources: []string{"eventsources", "sensors", "eventbus", "workflowtaskresults"},
		Verbs:     []string{"get", "list", "watch"},
	},
	{
		APIGroups: []string{""},
		Resources: []string{"pods", "pods/log", "events", "serviceaccounts"},
		Verbs:     []string{"get", "list", "watch"},
	},
}

// grant creates or updates Account, its Role and their binding.
func grant(ctx context.Context, kube kubernetes.Interface, ns string) error {
	meta := metav1.ObjectMeta{Name: Account, Namespace: ns}
	sa := &corev1.ServiceAccount{ObjectMeta: meta}
	if _, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("UI service account: %w", err)
	}
	roles := kube.RbacV1().Roles(ns)
	role := &rbacv1.Role{ObjectMeta: meta, Rules: rules}
	if _, err := roles.Create(ctx, role, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		old, gerr := roles.Get(ctx, Account, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("UI role: %w", gerr)
		}
		old.Rules = rules
		_, err = roles.Update(ctx, old, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("UI role: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("UI role: %w", err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: meta,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: Account},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: Account, Namespace: ns}},
	}
	if _, err := kube.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("UI role binding: %w", err)
	}
	return nil
}
