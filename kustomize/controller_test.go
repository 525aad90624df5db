package kustomize_test

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/generator/deploy"
	"github.com/fieldflow/fieldflow/kustomize"
)

// wantControllerEnv is the controller's environment fieldflow chose:
// executor plugins on, a 1s requeue and agent patch rate, 32 workers and a
// client limit of 50 QPS, bursting to 100 (see deploy.Controller).
var wantControllerEnv = map[string]string{
	"ARGO_EXECUTOR_PLUGINS": "true",
	"DEFAULT_REQUEUE_TIME":  "1s",
	"ARGO_AGENT_PATCH_RATE": "1s",
	"ARGO_WORKFLOW_WORKERS": "32",
	"ARGO_QPS":              "100",
	"ARGO_BURST":            "200",
}

// TestControllerPatch reads the patch the local engine embeds: the
// checked-in file, decoded strictly as a Deployment, naming the release's
// controller and setting exactly the chosen environment and nothing else
// (args would replace the release's list).
func TestControllerPatch(t *testing.T) {
	onDisk, err := os.ReadFile(filepath.Join(repoRoot, deploy.Root, deploy.ControllerPatchFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, kustomize.ControllerPatch) {
		t.Fatalf("kustomize.ControllerPatch is not %s: the embed names another file", deploy.ControllerPatchFile)
	}
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(kustomize.ControllerPatch, &d); err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	if d.Name != "workflow-controller" || d.Namespace != "argo" || len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("patch of %s/%s with %d containers, want argo/workflow-controller's one", d.Namespace, d.Name, len(d.Spec.Template.Spec.Containers))
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Name != "workflow-controller" || c.Image != "" || len(c.Command) > 0 || len(c.Args) > 0 {
		t.Errorf("container %+v: want workflow-controller with env alone", c)
	}
	if got := envMap(t, c.Env); !maps.Equal(got, wantControllerEnv) {
		t.Errorf("env %v, want %v", got, wantControllerEnv)
	}
}

// controllerAfterBuild checks the built controller Deployment: the
// release's container with its command and environment kept and the
// chosen environment added.
func controllerAfterBuild(t *testing.T, b *built) {
	t.Helper()
	d, _ := b.find("Deployment", "argo", "workflow-controller").(*appsv1.Deployment)
	if d == nil || len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("workflow-controller Deployment %v", d)
	}
	c := d.Spec.Template.Spec.Containers[0]
	want := maps.Clone(wantControllerEnv)
	for _, e := range releaseController.Env {
		want[e.Name] = "" // a reference, kept as the release has it
	}
	if got := envMap(t, c.Env); !maps.Equal(got, want) {
		t.Errorf("built controller env %v, want the release's and %v", got, wantControllerEnv)
	}
	if c.Image != releaseController.Image || !slices.Equal(c.Command, releaseController.Command) || len(c.Args) != 0 {
		t.Errorf("built controller %s %v %v, want the release's image and command", c.Image, c.Command, c.Args)
	}
}

// envMap is env by name, values only (a reference maps to ""); a name
// set twice is an error.
func envMap(t *testing.T, env []corev1.EnvVar) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range env {
		if _, dup := out[e.Name]; dup {
			t.Errorf("%s set twice", e.Name)
		}
		out[e.Name] = e.Value
	}
	return out
}
