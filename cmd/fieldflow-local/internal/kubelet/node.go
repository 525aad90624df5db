package kubelet

import (
	"context"
	"fmt"
	"runtime"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// registerNode creates or updates the Node the pods are bound to, with
// what the API server needs to reach this kubelet for logs: its address
// (InternalIP 127.0.0.1) and its port (daemonEndpoints.kubeletEndpoint).
// It is Ready from the start: no node lifecycle controller runs locally
// to mark it otherwise, and nothing should ignore it.
func (k *Kubelet) registerNode(ctx context.Context, port int) error {
	nodes := k.Kube.CoreV1().Nodes()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: k.Node, Labels: map[string]string{
			"kubernetes.io/hostname": k.Node, "kubernetes.io/os": runtime.GOOS, "kubernetes.io/arch": runtime.GOARCH,
		}},
		Status: k.nodeStatus(port),
	}
	_, err := nodes.Create(ctx, node, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return wrapNode(err)
	}
	return wrapNode(retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		latest, err := nodes.Get(ctx, k.Node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		latest.Status = k.nodeStatus(port)
		_, err = nodes.UpdateStatus(ctx, latest, metav1.UpdateOptions{})
		return err
	}))
}

func wrapNode(err error) error {
	if err != nil {
		return fmt.Errorf("register node: %w", err)
	}
	return nil
}

func (k *Kubelet) nodeStatus(port int) corev1.NodeStatus {
	now := metav1.Now()
	capacity := corev1.ResourceList{corev1.ResourceCPU: *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI)}
	return corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Phase:       corev1.NodeRunning,
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
			{Type: corev1.NodeHostName, Address: k.Node},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(port)}},
		Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue,
			Reason: "KubeletReady", Message: "the process kubelet runs pods as local processes",
			LastHeartbeatTime: now, LastTransitionTime: now,
		}},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion: "fieldflow-local", OperatingSystem: runtime.GOOS, Architecture: runtime.GOARCH,
		},
	}
}
