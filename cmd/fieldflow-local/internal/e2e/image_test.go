package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/fieldflow/fieldflow/generator"
)

// TestPodsRunTheImage: the box's process pod ran fieldflow's image from
// the engine's image store, as its container status says (the digest a
// kubelet reports as imageID); a pod naming an image the store does not
// hold fails with ErrImagePull, says how to build it, and runs nothing.
func TestPodsRunTheImage(t *testing.T) {
	e, box := submittedBox(t)
	local, _ := binaries(t)
	cfg, ns := clientConfig(t, e.kubeconfig)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	img, err := engineImages(local).Unpack(generator.DefaultConfig().Image)
	if err != nil {
		t.Fatal(err)
	}
	pod, err := kube.CoreV1().Pods(ns).Get(t.Context(), processPod(t, e, box.workflow), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := mainStatus(t, pod).ImageID; got != img.Digest.String() {
		t.Errorf("process pod ran image %q, want the store's %s", got, img.Digest)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	wf := submitContainer(ctx, t, cfg, ns, corev1.Container{Image: "fieldflow:9.9.9", Command: []string{"fieldflow"}, Args: []string{"version"}})
	failed := waitForPod(ctx, t, cfg, ns, wf.Name, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	st := mainStatus(t, failed).State.Terminated
	if st == nil || st.Reason != "ErrImagePull" || !strings.Contains(st.Message, "fieldflow:9.9.9") || !strings.Contains(st.Message, "make image") {
		t.Errorf("pod of a missing image: %+v, want ErrImagePull naming the image and `make image`", st)
	}
	if b, _ := os.ReadFile(filepath.Join(e.state, "pods", failed.Name, "main.log")); len(b) > 0 {
		t.Errorf("the pod of a missing image ran something:\n%s", b)
	}
}

func mainStatus(t *testing.T, pod *corev1.Pod) corev1.ContainerStatus {
	t.Helper()
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == "main" {
			return s
		}
	}
	t.Fatalf("pod %s has no status of its main container: %+v", pod.Name, pod.Status)
	return corev1.ContainerStatus{}
}

// submitContainer creates a Workflow of one container template.
func submitContainer(ctx context.Context, t *testing.T, cfg *rest.Config, ns string, c corev1.Container) *wfv1.Workflow {
	t.Helper()
	client, err := wfclientset.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wf := &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "image-"},
		Spec: wfv1.WorkflowSpec{
			Entrypoint: "main",
			Templates:  []wfv1.Template{{Name: "main", Container: &c}},
		},
	}
	wf, err = client.ArgoprojV1alpha1().Workflows(ns).Create(ctx, wf, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Workflow: %v", err)
	}
	return wf
}
