package kubelet

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// containerLogName is the main container's log in its pod folder: its
// stdout and stderr together, in the format a container runtime writes.
var containerLogName = logName(mainContainer)

// handleContainerLogs serves GET /containerLogs/{namespace}/{pod}/{container},
// what the API server's pods/log proxies to (`kubectl logs`, `argo logs`).
// Of a workflow pod only the main container runs here: the others (init,
// wait) have an empty log. Every container of an agent pod runs and has
// its log. A pod this kubelet does not run is 404, as is a container the
// pod does not have.
func (k *Kubelet) handleContainerLogs(w http.ResponseWriter, r *http.Request) {
	ns, name, ctr := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	o, err := parseLogOptions(r.URL.Query(), time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pod, status, err := k.podOfNode(r.Context(), ns, name)
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	if !hasContainer(pod, ctr) {
		http.Error(w, fmt.Sprintf("container %q not found in pod %q", ctr, name), http.StatusNotFound)
		return
	}
	if o.previous {
		http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", ctr, name), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	path := filepath.Join(k.WorkDir, name, logName(ctr))
	if _, err := os.Stat(path); err != nil {
		return // a container that did not run
	}
	if err := copyLog(r.Context(), w, path, k.ended(name), o); err != nil && r.Context().Err() == nil {
		k.Log.Warn("container log", "pod", name, "err", err)
	}
}

// podOfNode gets the pod from the API and checks it is bound to this node,
// returning the HTTP status of a failure.
func (k *Kubelet) podOfNode(ctx context.Context, ns, name string) (*corev1.Pod, int, error) {
	pod, err := k.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, http.StatusNotFound, fmt.Errorf("pod %q does not exist", ns+"/"+name)
	case err != nil:
		return nil, http.StatusInternalServerError, fmt.Errorf("get pod %s/%s: %w", ns, name, err)
	case pod.Spec.NodeName != k.Node:
		return nil, http.StatusNotFound, fmt.Errorf("pod %q does not run on node %q", ns+"/"+name, k.Node)
	}
	return pod, http.StatusOK, nil
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		if c.Name == name {
			return true
		}
	}
	return false
}

// track records that the pod's main process runs, for followers of its
// log; the returned function marks it ended.
func (k *Kubelet) track(pod string) func() {
	ch := make(chan struct{})
	k.mu.Lock()
	if k.procs == nil {
		k.procs = map[string]chan struct{}{}
	}
	k.procs[pod] = ch
	k.mu.Unlock()
	return func() {
		k.mu.Lock()
		delete(k.procs, pod)
		k.mu.Unlock()
		close(ch)
	}
}

// ended is closed once the pod's main process has ended; it is already
// closed for a pod whose process is not running (it ended, never
// started, or ran under an earlier engine).
func (k *Kubelet) ended(pod string) <-chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	if ch, ok := k.procs[pod]; ok {
		return ch
	}
	return closedCh
}

var closedCh = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()
