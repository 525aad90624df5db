package generator

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// TestCheckedInFilesCarryNoNulls decodes every checked-in YAML file under
// templates/, argo-events/ and kustomize/ and wants no null in a patch
// and none but creationTimestamp elsewhere (see checkNulls): a null in a
// strategic merge patch deletes the field it names from the release's
// object.
func TestCheckedInFilesCarryNoNulls(t *testing.T) {
	files := readYAMLFiles(t, "templates", "argo-events", "kustomize")
	patches := patchPaths(kustomizations(t, files))
	if len(patches) == 0 {
		t.Fatal("no kustomization names a patch: the test would check nothing")
	}
	for path, b := range files {
		allowed := metadataCreationTimestamp
		if patches[path] {
			allowed = nothing
		}
		found, err := nulls(b, allowed)
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		for _, at := range found {
			t.Errorf("%s (patch: %v): null at %s", path, patches[path], at)
		}
	}
	for path := range patches {
		if _, ok := files[path]; !ok {
			t.Errorf("patch %s is not a checked-in file", path)
		}
	}
}

// readYAMLFiles are the .yaml and .yml files under dirs, by path from the
// repository root.
func readYAMLFiles(t *testing.T, dirs ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !slices.Contains([]string{".yaml", ".yml"}, filepath.Ext(path)) {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(repoRoot, path)
			out[filepath.ToSlash(rel)] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// kustomizations decodes the kustomization.yaml files among files.
func kustomizations(t *testing.T, files map[string][]byte) []File {
	t.Helper()
	var out []File
	for path, b := range files {
		if filepath.Base(path) != "kustomization.yaml" {
			continue
		}
		k := &types.Kustomization{}
		if err := yaml.UnmarshalStrict(b, k); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, File{Path: path, Objects: []any{k}})
	}
	return out
}

// TestCheckNulls feeds checkNulls the argo-server patch as it was
// (appsv1.Deployment, whose selector has no omitempty) and as it is (an
// apply configuration), as a patch and as a plain object.
func TestCheckNulls(t *testing.T) {
	apiType := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "argo-server", Namespace: "argo"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "argo-server", Args: []string{"server", "--auth-mode=server"},
		}}}}},
	}
	applyConfig := appsv1ac.Deployment("argo-server", "argo").WithSpec(appsv1ac.DeploymentSpec().
		WithTemplate(corev1ac.PodTemplateSpec().WithSpec(corev1ac.PodSpec().
			WithContainers(corev1ac.Container().WithName("argo-server").WithArgs("server", "--auth-mode=server")))))
	for _, tc := range []struct {
		name  string
		obj   any
		patch bool
		want  []string
	}{
		{"API type as patch", apiType, true, []string{
			"o/p.yaml: null at document 0: metadata.creationTimestamp",
			"o/p.yaml: null at document 0: spec.selector",
			"o/p.yaml: null at document 0: spec.template.metadata.creationTimestamp",
		}},
		{"API type as object", apiType, false, []string{"o/p.yaml: null at document 0: spec.selector"}},
		{"apply configuration as patch", applyConfig, true, nil},
		{"null in a list", map[string][]*int{"a": {ptr(1), nil}}, false, []string{"o/p.yaml: null at document 0: a[1]"}},
		{"Argo's workflowMetadata", &wfv1.CronWorkflow{
			TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "CronWorkflow"},
			Spec:     wfv1.CronWorkflowSpec{WorkflowMetadata: &metav1.ObjectMeta{Labels: map[string]string{"a": "b"}}},
		}, false, []string{
			"o/p.yaml: null at document 0: spec.workflowMetadata.creationTimestamp",
			"o/p.yaml: null at document 0: status.active",
			"o/p.yaml: null at document 0: status.conditions",
			"o/p.yaml: null at document 0: status.lastScheduledTime",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &types.Kustomization{Resources: []string{"p.yaml"}}
			if tc.patch {
				k = &types.Kustomization{Patches: []types.Patch{{Path: "p.yaml"}}}
			}
			err := checkNulls([]File{{Path: "o/kustomization.yaml", Objects: []any{k}}, {Path: "o/p.yaml", Objects: []any{tc.obj}}})
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
