// Package e2e checks the fieldflow-local engine end to end, as a user
// runs it: `up` driven with client-go, kubectl and Argo's own CLI, `run`
// following a store (a folder or a real MinIO bucket).
//
// Skipped unless FIELDFLOW_LOCAL_E2E=1. FIELDFLOW_LOCAL_BIN names
// fieldflow-local, with fieldflow beside it and Argo's CLI (argo) there too
// or at FIELDFLOW_ARGO_BIN: `make local` builds all three into .cache/bin.
package e2e

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// TestWorkflowCreatesPod submits a WorkflowTemplate of its own and a
// Workflow with client-go: Argo's controller creates the pod with the
// template's command, and the process kubelet binds it to its node and
// brings it to a final phase. Whether `true` may run as a local process is
// the kubelet's policy, not this test's: Succeeded and Failed both do.
func TestWorkflowCreatesPod(t *testing.T) {
	e := sharedUp(t)
	cfg, ns := clientConfig(t, e.kubeconfig)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	wf := submit(ctx, t, cfg, ns)
	pod := waitForPod(ctx, t, cfg, ns, wf.Name, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	t.Logf("pod %s/%s on node %q phase %s (%s), containers %v", pod.Namespace, pod.Name, pod.Spec.NodeName,
		pod.Status.Phase, pod.Status.Message, containerCommands(pod))
	if pod.Spec.NodeName != "local" {
		t.Errorf("pod bound to node %q, want the process kubelet's node local", pod.Spec.NodeName)
	}
	checkCommands(t, containerCommands(pod))
	checkKubectl(t, e.kubeconfig, wf.Name)
}

func clientConfig(t *testing.T, kubeconfig string) (*rest.Config, string) {
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}, &clientcmd.ConfigOverrides{})
	cfg, err := loader.ClientConfig()
	if err != nil {
		t.Fatalf("load %s: %v", kubeconfig, err)
	}
	ns, _, err := loader.Namespace()
	if err != nil {
		t.Fatalf("namespace of %s: %v", kubeconfig, err)
	}
	return cfg, ns
}

// submit creates the WorkflowTemplate "tiny" (a container running `true`)
// and a Workflow that references it.
func submit(ctx context.Context, t *testing.T, cfg *rest.Config, ns string) *wfv1.Workflow {
	client, err := wfclientset.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("argo client: %v", err)
	}
	tmpl := &wfv1.WorkflowTemplate{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "tiny-"},
		Spec: wfv1.WorkflowSpec{
			Entrypoint: "main",
			Templates: []wfv1.Template{{
				Name:      "main",
				Container: &corev1.Container{Image: "busybox:1.36", Command: []string{"true"}},
			}},
		},
	}
	tmpl, err = client.ArgoprojV1alpha1().WorkflowTemplates(ns).Create(ctx, tmpl, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create WorkflowTemplate: %v", err)
	}
	wf := &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "tiny-"},
		Spec:       wfv1.WorkflowSpec{WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: tmpl.Name}},
	}
	wf, err = client.ArgoprojV1alpha1().Workflows(ns).Create(ctx, wf, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Workflow: %v", err)
	}
	t.Logf("created WorkflowTemplate %s and Workflow %s in %s", tmpl.Name, wf.Name, ns)
	return wf
}

// waitForPod waits for a pod of the workflow that done accepts.
func waitForPod(ctx context.Context, t *testing.T, cfg *rest.Config, ns, workflow string, done func(*corev1.Pod) bool) *corev1.Pod {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("kubernetes client: %v", err)
	}
	start := time.Now()
	var pod *corev1.Pod
	err = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + workflow})
		if err != nil || len(pods.Items) == 0 {
			return false, err
		}
		pod = &pods.Items[0]
		return done(pod), nil
	})
	if err != nil {
		t.Fatalf("no pod of workflow %s as wanted (last seen: %v): %v", workflow, podState(pod), err)
	}
	t.Logf("pod %s as wanted %s after the Workflow was created", pod.Name, time.Since(start).Round(time.Millisecond))
	return pod
}

func podState(pod *corev1.Pod) string {
	if pod == nil {
		return "none"
	}
	return pod.Name + " on " + pod.Spec.NodeName + " " + string(pod.Status.Phase)
}

func containerCommands(pod *corev1.Pod) map[string][]string {
	cmds := map[string][]string{}
	for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
		cmds[c.Name] = append(append([]string{}, c.Command...), c.Args...)
	}
	return cmds
}

// checkCommands wants the template's command in the main container and no
// empty argument (an unset option of the controller shows up as one).
func checkCommands(t *testing.T, cmds map[string][]string) {
	main := cmds["main"]
	if len(main) == 0 || main[len(main)-1] != "true" {
		t.Errorf("main container does not run the template's command [true]: %q", main)
	}
	for name, args := range cmds {
		if slices.Contains(args, "") {
			t.Errorf("container %s has an empty argument: %q", name, args)
		}
	}
}

func checkKubectl(t *testing.T, kubeconfig, workflow string) {
	out, err := exec.Command("kubectl", "--kubeconfig", kubeconfig, "get", "wf", "-A").CombinedOutput()
	t.Logf("kubectl get wf -A:\n%s", out)
	if err != nil {
		t.Fatalf("kubectl get wf -A: %v", err)
	}
	if !strings.Contains(string(out), workflow) {
		t.Errorf("kubectl get wf -A does not list %s", workflow)
	}
}
