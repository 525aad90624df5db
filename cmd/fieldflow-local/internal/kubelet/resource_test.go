package kubelet

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestManifest: a resource template's object lands in the pod's namespace
// and nowhere else.
func TestManifest(t *testing.T) {
	const wf = `{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"generateName":"x-"%s}}`
	for _, tc := range []struct {
		name    string
		meta    string
		wantNS  string
		wantErr string
	}{
		{"no namespace", ``, "fieldflow", ""},
		{"the pod's namespace", `,"namespace":"fieldflow"`, "fieldflow", ""},
		{"another namespace", `,"namespace":"kube-system"`, "", `in namespace "kube-system": fieldflow-local performs resource templates only in the pod's namespace "fieldflow"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj, err := manifest(strings.Replace(wf, "%s", tc.meta, 1), "fieldflow")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("manifest: %v; want error %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || obj.GetNamespace() != tc.wantNS {
				t.Fatalf("manifest: namespace %q, %v; want %q", obj.GetNamespace(), err, tc.wantNS)
			}
		})
	}
}

// TestServiceAccountUser: the user name a token of the pod's account has.
func TestServiceAccountUser(t *testing.T) {
	for sa, want := range map[string]string{
		"fieldflow-workflow": "system:serviceaccount:fieldflow:fieldflow-workflow",
		"":                   "system:serviceaccount:fieldflow:default",
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "fieldflow"}, Spec: corev1.PodSpec{ServiceAccountName: sa}}
		if got := serviceAccountUser(pod); got != want {
			t.Errorf("serviceAccountUser(%q) = %q, want %q", sa, got, want)
		}
	}
}
