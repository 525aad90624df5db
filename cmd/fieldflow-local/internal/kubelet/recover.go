package kubelet

import (
	"context"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// killedExit is a killed process's exit code (128 + SIGKILL), what a
// container runtime reports for a container killed or lost; the templates'
// retry expression retries it.
const killedExit = 137

// lostMessage says why a pod bound by an earlier process failed.
const lostMessage = "lost: fieldflow-local stopped while this pod ran, and its process with it"

// recover settles the pods an earlier process of this kubelet bound, as a
// kubelet does for a node that restarted: a pod that had started has lost
// its process and is failed, so that Argo retries or fails its node by the
// template's rules, unless its restart policy restarts it (an agent pod);
// a pod bound but never started is run now. Without
// this, dead pods would hold their workflows, and the slots of the pods
// behind them, until their deadline.
func (k *Kubelet) recover(ctx context.Context, slots chan struct{}) error {
	list, err := k.Kube.CoreV1().Pods(k.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	for i := range list.Items {
		pod := &list.Items[i]
		if pod.Spec.NodeName != k.Node || pod.DeletionTimestamp != nil || finished(pod) {
			continue
		}
		if pod.Status.Phase == corev1.PodPending && pod.Status.StartTime == nil || restarts(pod) {
			if podCtx, ok := k.claim(ctx, pod.Name); ok {
				k.Log.Info("running a pod bound before a restart", "pod", pod.Name)
				k.launch(podCtx, pod, slots)
			}
			continue
		}
		if err := k.fail(ctx, pod); err != nil {
			return err
		}
	}
	return nil
}

// restarts says whether a pod's containers are started again when they
// end badly: Argo's workflow pods never are, its agent pods are.
func restarts(pod *corev1.Pod) bool {
	return pod.Spec.RestartPolicy == corev1.RestartPolicyOnFailure || pod.Spec.RestartPolicy == corev1.RestartPolicyAlways
}

func finished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// fail ends a lost pod. It reports empty outputs first, unless the process
// reported before it was lost: the controller waits for a report before
// it looks at the phase of a template that declares outputs.
func (k *Kubelet) fail(ctx context.Context, pod *corev1.Pod) error {
	k.Log.Warn("failing a pod lost in a restart", "pod", pod.Name)
	if err := k.report(ctx, pod, &wfv1.Outputs{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return k.finish(ctx, pod, outcome{exitCode: killedExit, message: lostMessage})
}
