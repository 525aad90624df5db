package generator

import (
	"github.com/argoproj/argo-workflows/v3/util/secrets"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Rules each service account needs, and nothing more:
//   - the workflow's: its process pods report their outputs
//     (workflowtaskresults) and its agent pod, which runs as the workflow's
//     account, watches the workflow's WorkflowTaskSet for the plugin nodes
//     to run and reports their results on its status (Argo's "agent" Role,
//     manifests/quick-start/base/agent-role.yaml);
//   - the plugin's: the sidecar creates the Workflows the release and
//     reconcile steps submit, and gets one it finds already made (a submit
//     run again);
//   - the sensor creates Workflows.
var (
	workflowRules = []rbacv1.PolicyRule{
		{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflowtaskresults"}, Verbs: []string{"create", "patch"}},
		{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflowtasksets"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflowtasksets/status"}, Verbs: []string{"patch"}},
	}
	pluginRules = []rbacv1.PolicyRule{
		{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"create", "get"}},
	}
	sensorRules = []rbacv1.PolicyRule{
		{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"create"}},
	}
)

// serviceAccount is an account without any Role: the sqs EventSource's
// pod talks to SQS with its IAM role (IRSA), never to the Kubernetes API.
func serviceAccount(c Config, name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.Namespace, Labels: labels()},
	}
}

// rbac is a ServiceAccount with a Role of rules bound to it. annotations
// go on the ServiceAccount (IRSA role ARNs, set by the AWS overlay).
func rbac(c Config, name string, rules []rbacv1.PolicyRule) []any {
	meta := metav1.ObjectMeta{Name: name, Namespace: c.Namespace, Labels: labels()}
	return []any{
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta},
		&rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: meta, Rules: rules},
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: meta,
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: c.Namespace}},
		},
	}
}

// serviceAccountToken is the Secret that Kubernetes fills with a
// long-lived token of the account name. Argo's controller mounts such a
// Secret, found by its name (secrets.TokenName), into the agent pod: the
// workflow account's into the agent, the plugin account's into the
// sidecar. Since Kubernetes 1.24 no account gets one unless it is created.
func serviceAccountToken(c Config, name string) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        secrets.TokenName(name),
			Namespace:   c.Namespace,
			Labels:      labels(),
			Annotations: map[string]string{corev1.ServiceAccountNameKey: name},
		},
		Type: corev1.SecretTypeServiceAccountToken,
	}
}
