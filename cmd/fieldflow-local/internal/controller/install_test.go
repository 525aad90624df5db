package controller

import (
	"context"
	"testing"
	"time"

	"github.com/argoproj/argo-workflows/v3/workflow/common"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestApplyConfigMap sets the pod GC delay on a new ConfigMap and on the
// one an earlier start of the state folder left, and leaves Argo's
// default when there is none.
func TestApplyConfigMap(t *testing.T) {
	old := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: common.ConfigMapName, Namespace: "ns"},
		Data:       map[string]string{"executor": "imagePullPolicy: IfNotPresent\n"},
	}
	for _, tc := range []struct {
		name     string
		existing []*corev1.ConfigMap
		delay    time.Duration
		want     string // podGCDeleteDelayDuration; "" for unset
	}{
		{"new", nil, 10 * time.Minute, "10m0s"},
		{"earlier start", []*corev1.ConfigMap{old}, 10 * time.Minute, "10m0s"},
		{"Argo's default", []*corev1.ConfigMap{old}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset()
			for _, cm := range tc.existing {
				client = fake.NewClientset(cm.DeepCopy())
			}
			if err := applyConfigMap(context.Background(), client, "ns", tc.delay); err != nil {
				t.Fatal(err)
			}
			cm, err := client.CoreV1().ConfigMaps("ns").Get(context.Background(), common.ConfigMapName, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := cm.Data["podGCDeleteDelayDuration"]; got != tc.want {
				t.Errorf("podGCDeleteDelayDuration %q, want %q", got, tc.want)
			}
			if cm.Data["metricsConfig"] == "" {
				t.Errorf("metricsConfig missing: %v", cm.Data)
			}
		})
	}
}
