// Package kubelet stands in for a scheduler and a kubelet on one machine:
// it binds the pods Argo's controller creates to a node and runs each pod's
// main container command as a local process. It then does what Argo's
// executor would: it reads the output parameters, reports them in a
// WorkflowTaskResult, and sets the pod's phase and exit code. Pods of
// resource templates get their resource action performed here (fieldflow's
// own templates submit through the executor plugin; another template may
// still create objects so). An agent pod runs whole: its init container,
// Argo's agent and the executor plugins' sidecars (agent.go).
//
// Pods run as this machine's user, without a container around them, so
// the kubelet confines them: it runs only what the pod's image holds
// (Images), reads outputs only inside the pod's folder, and performs
// resource templates as the pod's service account, in its namespace.
//
// Like a real kubelet it registers its Node and serves the container logs
// the API server proxies `kubectl logs` to, over TLS, to the API server
// only (Serve).
package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/fieldflow/fieldflow/generator/podimage"
)

// Kubelet runs the pods of one namespace.
type Kubelet struct {
	// Kube and Argo act as the admin: they bind pods, set their status and
	// report their outputs, which is the kubelet's and the executor's job.
	Kube kubernetes.Interface
	Argo wfclientset.Interface
	// Config is the admin's: resource templates copy it to act as the
	// pod's service account, by impersonation.
	Config    *rest.Config
	Namespace string
	Node      string
	// Images is the engine's image store: a container runs a file of its
	// image, unpacked there. A pod whose image is not in it fails with
	// ErrImagePull and runs nothing.
	Images *podimage.Store
	// Agent is the program an agent pod's "argoexec" containers run:
	// Argo's agent, as `Agent agent init|main`. No other pod may run it.
	Agent string
	// Env is set last in every process: it points pods at the local store.
	Env map[string]string
	// WorkDir holds a folder per pod: its volumes, logs and outputs.
	WorkDir string
	// Parallel bounds the processes running at once.
	Parallel int
	Log      *slog.Logger

	mu      sync.Mutex
	running map[string]context.CancelFunc // by pod name
	procs   map[string]chan struct{}      // by pod name: closed when its process has ended
}

// Run watches pods until ctx ends.
func (k *Kubelet) Run(ctx context.Context) error {
	k.running = map[string]context.CancelFunc{}
	slots := make(chan struct{}, max(1, k.Parallel))
	if err := k.recover(ctx, slots); err != nil {
		return err
	}
	for ctx.Err() == nil {
		w, err := k.Kube.CoreV1().Pods(k.Namespace).Watch(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("watch pods: %w", err)
		}
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			switch ev.Type {
			case watch.Deleted:
				k.stop(pod.Name)
			case watch.Added, watch.Modified:
				if pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil {
					k.start(ctx, pod.DeepCopy(), slots)
				}
			}
		}
	}
	return ctx.Err()
}

// start binds a pending pod and runs it when a slot is free.
func (k *Kubelet) start(ctx context.Context, pod *corev1.Pod, slots chan struct{}) {
	podCtx, ok := k.claim(ctx, pod.Name)
	if !ok {
		return
	}
	binding := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
		Target:     corev1.ObjectReference{Kind: "Node", Name: k.Node},
	}
	if err := k.Kube.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
		k.Log.Warn("bind pod", "pod", pod.Name, "err", err)
		k.stop(pod.Name)
		return
	}
	pod.Spec.NodeName = k.Node
	k.launch(podCtx, pod, slots)
}

// claim records a pod as this kubelet's; false if it already is.
func (k *Kubelet) claim(ctx context.Context, name string) (context.Context, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.running[name]; ok {
		return nil, false
	}
	podCtx, cancel := context.WithCancel(ctx)
	k.running[name] = cancel
	return podCtx, true
}

// launch runs a claimed, bound pod when a slot is free. An agent pod
// takes no slot: it waits on its workflow most of its life, and the pods
// its workflow waits for must not wait for its slot.
func (k *Kubelet) launch(podCtx context.Context, pod *corev1.Pod, slots chan struct{}) {
	ended := k.track(pod.Name) // from binding on, a follower of its log waits for it
	go func() {
		defer ended()
		defer k.stop(pod.Name)
		if isAgent(pod) {
			if err := k.runAgent(podCtx, pod); err != nil {
				k.Log.Warn("agent pod", "pod", pod.Name, "err", err)
			}
			return
		}
		select {
		case slots <- struct{}{}:
		case <-podCtx.Done():
			return
		}
		defer func() { <-slots }()
		if err := k.runPod(podCtx, pod); err != nil {
			k.Log.Warn("pod", "pod", pod.Name, "err", err)
		}
	}()
}

func (k *Kubelet) stop(name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if cancel, ok := k.running[name]; ok {
		cancel()
		delete(k.running, name)
	}
}
