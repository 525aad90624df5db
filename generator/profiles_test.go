package generator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
)

// TestProfiles reads like the definition file's profiles: what a user
// writes under `profiles:`, and what the asset's process pod then gets from
// `make generate`, or the error that names the mistake.
func TestProfiles(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		asset      string
		want       func(corev1.Container, map[string]string) bool
		err        string // substring; empty for success
	}{
		{name: "the defaults", asset: "field", want: func(c corev1.Container, _ map[string]string) bool {
			return c.Resources.Limits.Memory().String() == "512Mi" && c.Resources.Requests.Cpu().String() == "250m"
		}},
		{name: "one quantity changed, the rest kept", yaml: "field: {memoryLimit: 1Gi}", asset: "field",
			want: func(c corev1.Container, _ map[string]string) bool {
				return c.Resources.Limits.Memory().String() == "1Gi" && c.Resources.Requests.Memory().String() == "128Mi" &&
					c.Resources.Limits.Cpu().String() == "2"
			}},
		{name: "the other asset untouched", yaml: "field: {memoryLimit: 1Gi}", asset: "box",
			want: func(c corev1.Container, _ map[string]string) bool {
				return c.Resources.Limits.Memory().String() == "256Mi"
			}},
		{name: "a GPU run on a GPU type", yaml: "field: {gpus: 1, gpuType: A100}", asset: "field",
			want: func(c corev1.Container, sel map[string]string) bool {
				return c.Resources.Requests.Name(gpuResource, "").String() == "1" &&
					c.Resources.Limits.Name(gpuResource, "").String() == "1" && sel["nvidia.com/gpu.product"] == "A100"
			}},
		{name: "an unknown key", yaml: "field: {memory: 1Gi}", err: `profiles: field: json: unknown field "memory"`},
		{name: "an unknown asset", yaml: "fields: {memoryLimit: 1Gi}", err: `profiles: no asset "fields" (assets: [box field])`},
		{name: "a bad quantity", yaml: "field: {memoryLimit: lots}", err: `profiles: field: memoryLimit "lots"`},
		{name: "a request above its limit", yaml: "box: {cpuRequest: \"2\"}", err: "box: cpuRequest 2 is above cpuLimit 1"},
		{name: "a GPU type without GPUs", yaml: "box: {gpuType: A100}", err: `box: gpuType "A100" without gpus`},
		{name: "negative GPUs", yaml: "box: {gpus: -1}", err: "box: gpus -1: want 0 or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "fieldflow.yaml")
			def := "namespace: fieldflow\n"
			if tc.yaml != "" {
				def += "profiles:\n  " + strings.ReplaceAll(tc.yaml, "}, ", "}\n  ") + "\n"
			}
			if err := os.WriteFile(path, []byte(def), 0o644); err != nil {
				t.Fatal(err)
			}
			files, err := loadAndRender(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ctr, sel := processContainer(t, files, tc.asset)
			if !tc.want(ctr, sel) {
				t.Errorf("%s's process container: %+v, node selector %v", tc.asset, ctr.Resources, sel)
			}
		})
	}
}

func loadAndRender(path string) ([]File, error) {
	c, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	return Render(c)
}

// processContainer is the container and node selector of the template that
// runs `fieldflow process` for asset.
func processContainer(t *testing.T, files []File, asset string) (corev1.Container, map[string]string) {
	t.Helper()
	for _, f := range files {
		for _, o := range f.Objects {
			wt, ok := o.(*wfv1.WorkflowTemplate)
			if !ok || wt.Name != "fieldflow-"+asset {
				continue
			}
			for _, tmpl := range wt.Spec.Templates {
				if tmpl.Container != nil && len(tmpl.Container.Args) > 0 && tmpl.Container.Args[0] == "process" {
					return *tmpl.Container, tmpl.NodeSelector
				}
			}
		}
	}
	t.Fatalf("no process container for %s", asset)
	return corev1.Container{}, nil
}
