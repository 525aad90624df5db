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
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
		var err error
		if bin, err = buildBinary(t, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	cmd, kubeconfig, err := launch(bin, filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopEngine(t, cmd) })
	t.Logf("engine up after %s", time.Since(start).Round(time.Millisecond))
	return kubeconfig
}

// launch starts `fieldflow-local up` with args after --state and returns
// once it prints its kubeconfig path, which is when its API server serves.
func launch(bin, state string, args ...string) (*exec.Cmd, string, error) {
	cmd := exec.Command(bin, append([]string{"up", "--state", state}, args...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", fmt.Errorf("stdout pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start %s: %w", bin, err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", fmt.Errorf("engine printed no kubeconfig path (its log above says why): %w", err)
	}
	return cmd, strings.TrimSpace(line), nil
}

// buildBinary builds fieldflow-local into dir. It returns an error rather
// than failing t so that sharedEngine can call it inside its sync.Once.
func buildBinary(t *testing.T, dir string) (string, error) {
	bin := filepath.Join(dir, "fieldflow-local")
	cmd := exec.Command("go", "build", "-ldflags", versionFlag, "-o", bin, "github.com/fieldflow/fieldflow/cmd/fieldflow-local")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build fieldflow-local: %w", err)
	}
	t.Logf("built %s in %s", bin, time.Since(start).Round(time.Second))
	return bin, nil
}

func stopEngine(t *testing.T, cmd *exec.Cmd) {
	if err := stop(cmd); err != nil {
		t.Error(err)
	}
}

// stop sends SIGINT and waits a minute for the engine to exit.
func stop(cmd *exec.Cmd) error {
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("engine exit after SIGINT: %w", err)
		}
		return nil
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		return errors.New("engine still running a minute after SIGINT")
	}
}

// sharedNamespace is the namespace the shared engine's controller manages.
// Not up's default "argo": TestDeploy installs Argo's release there, whose
// workflow-controller-configmap the minikube overlay patches, and the
// engine's own controller must not read that configuration.
const sharedNamespace = "fieldflow-e2e"

// shared is the one `fieldflow-local up` engine of this test binary, for
// the tests that need an API server but not an engine of their own: it
// costs seconds and a gigabyte, once. TestMain stops it.
var shared struct {
	once       sync.Once
	dir        string // state folder and, when built here, the binary
	cmd        *exec.Cmd
	kubeconfig string
	err        error
}

// sharedEngine returns the kubeconfig of the shared engine, starting it on
// the first call. Skipped unless FIELDFLOW_LOCAL_E2E=1; with
// FIELDFLOW_LOCAL_KUBECONFIG it is the engine already up. Tests sharing it
// see what earlier ones left: TestDeploy replaces Argo's full CRDs with the
// release's (which validate less) and creates the namespaces argo,
// argo-events, fieldflow and fieldflow-monitoring.
func sharedEngine(t *testing.T) string {
	t.Helper()
	if os.Getenv("FIELDFLOW_LOCAL_E2E") != "1" {
		t.Skip("set FIELDFLOW_LOCAL_E2E=1 to run (builds and starts kube-apiserver and Argo's controller)")
	}
	if k := os.Getenv("FIELDFLOW_LOCAL_KUBECONFIG"); k != "" {
		return k
	}
	shared.once.Do(func() { shared.err = startShared(t) })
	if shared.err != nil {
		t.Fatalf("shared engine: %v", shared.err)
	}
	return shared.kubeconfig
}

func startShared(t *testing.T) error {
	dir, err := os.MkdirTemp("", "fieldflow-e2e-engine-")
	if err != nil {
		return fmt.Errorf("state folder: %w", err)
	}
	shared.dir = dir
	bin := os.Getenv("FIELDFLOW_LOCAL_BIN")
	if bin == "" {
		if bin, err = buildBinary(t, dir); err != nil {
			return err
		}
	}
	start := time.Now()
	shared.cmd, shared.kubeconfig, err = launch(bin, filepath.Join(dir, "state"), "--namespace", sharedNamespace)
	if err != nil {
		return err
	}
	t.Logf("shared engine up after %s", time.Since(start).Round(time.Millisecond))
	return nil
}

// stopSharedEngine stops the shared engine, if a test started it, and
// removes its folder.
func stopSharedEngine() error {
	var err error
	if shared.cmd != nil {
		err = stop(shared.cmd)
	}
	if shared.dir != "" {
		err = errors.Join(err, os.RemoveAll(shared.dir))
	}
	return err
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
