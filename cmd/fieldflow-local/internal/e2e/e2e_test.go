// Package e2e checks a running fieldflow-local engine end to end: a
// WorkflowTemplate and a Workflow submitted with client-go make Argo's
// controller create the workflow's pod.
//
// Skipped unless FIELDFLOW_LOCAL_E2E=1. With FIELDFLOW_LOCAL_KUBECONFIG it
// uses an engine that is already up; otherwise it starts the binary
// (FIELDFLOW_LOCAL_BIN, or one it builds, which takes minutes the first time).
package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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

const versionFlag = "-X k8s.io/component-base/version.gitVersion=v1.33.1"

func TestWorkflowCreatesPod(t *testing.T) {
	if os.Getenv("FIELDFLOW_LOCAL_E2E") != "1" {
		t.Skip("set FIELDFLOW_LOCAL_E2E=1 to run (builds and starts kube-apiserver and Argo's controller)")
	}
	kubeconfig := os.Getenv("FIELDFLOW_LOCAL_KUBECONFIG")
	if kubeconfig == "" {
		kubeconfig = startEngine(t)
	}
	cfg, ns := clientConfig(t, kubeconfig)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	wf := submit(ctx, t, cfg, ns)
	pod := waitForPod(ctx, t, cfg, ns, wf.Name)
	t.Logf("pod %s/%s phase %s, containers %v", pod.Namespace, pod.Name, pod.Status.Phase, containerCommands(pod))
	if pod.Status.Phase != corev1.PodPending {
		t.Errorf("pod phase %s, want Pending (no scheduler or kubelet)", pod.Status.Phase)
	}
	checkCommands(t, containerCommands(pod))
	checkKubectl(t, kubeconfig, wf.Name)
}

// startEngine runs `fieldflow-local up` on a temporary state folder and
// returns its kubeconfig; the engine gets SIGINT at the end of the test.
func startEngine(t *testing.T) string {
	bin := os.Getenv("FIELDFLOW_LOCAL_BIN")
	if bin == "" {
		bin = buildBinary(t)
	}
	cmd := exec.Command(bin, "up", "--state", filepath.Join(t.TempDir(), "state"))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() { stopEngine(t, cmd) })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("engine printed no kubeconfig path: %v", err)
	}
	t.Logf("engine up after %s", time.Since(start).Round(time.Millisecond))
	return strings.TrimSpace(line)
}

func buildBinary(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "fieldflow-local")
	cmd := exec.Command("go", "build", "-ldflags", versionFlag, "-o", bin, "github.com/fieldflow/fieldflow/cmd/fieldflow-local")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("build fieldflow-local: %v", err)
	}
	t.Logf("built %s in %s", bin, time.Since(start).Round(time.Second))
	return bin
}

func stopEngine(t *testing.T, cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("engine exit after SIGINT: %v", err)
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Errorf("engine still running a minute after SIGINT")
	}
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

func waitForPod(ctx context.Context, t *testing.T, cfg *rest.Config, ns, workflow string) *corev1.Pod {
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
		return true, nil
	})
	if err != nil {
		t.Fatalf("no pod of workflow %s: %v", workflow, err)
	}
	t.Logf("controller created pod %s %s after the Workflow was created", pod.Name, time.Since(start).Round(time.Millisecond))
	return pod
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
