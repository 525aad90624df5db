package engine

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/fieldflow/fieldflow/processor/plugin"
)

// TestLoadManifests loads the embedded manifests and a --manifests copy
// of the repository's: kustomize's kustomization.yaml files are skipped,
// the ConfigMaps the pods and Argo's controller read (the pipeline's
// settings, the executor plugin) and the service account token Secrets
// the agent pods mount are kept.
func TestLoadManifests(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{"templates", "argo-events"} {
		if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(filepath.Join("..", "..", "..", "..", sub))); err != nil {
			t.Fatal(err)
		}
	}
	for _, from := range []string{"", dir} {
		m, err := LoadManifests(from)
		if err != nil {
			t.Fatalf("LoadManifests(%q): %v", from, err)
		}
		configs := map[string]map[string]string{}
		for _, c := range m.Configs {
			configs[c.Name] = c.Data
		}
		if len(configs) != 2 || configs["fieldflow-pipeline"]["START_DATE"] == "" || configs[plugin.ConfigMap]["sidecar.container"] == "" {
			t.Errorf("LoadManifests(%q): ConfigMaps %v, want fieldflow-pipeline with the settings and %s", from, slices.Collect(maps.Keys(configs)), plugin.ConfigMap)
		}
		if len(m.Secrets) != 2 {
			t.Errorf("LoadManifests(%q): %d Secrets, want the two service account tokens", from, len(m.Secrets))
		}
		for _, s := range m.Secrets {
			if s.Type != corev1.SecretTypeServiceAccountToken || len(s.Data)+len(s.StringData) != 0 {
				t.Errorf("LoadManifests(%q): Secret %s of type %s with %d keys, want an empty service account token", from, s.Name, s.Type, len(s.Data)+len(s.StringData))
			}
		}
		if len(m.Templates) != 3 || m.Namespace != "fieldflow" {
			t.Errorf("LoadManifests(%q): %d templates in %q", from, len(m.Templates), m.Namespace)
		}
	}
}
