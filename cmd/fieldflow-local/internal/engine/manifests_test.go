package engine

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLoadManifests loads the embedded manifests and a --manifests copy
// of the repository's: kustomize's kustomization.yaml files are skipped,
// the ConfigMap the pods read is kept.
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
		if len(m.Configs) != 1 || m.Configs[0].Name != "fieldflow-pipeline" || m.Configs[0].Data["START_DATE"] == "" {
			t.Errorf("LoadManifests(%q): ConfigMaps %v, want fieldflow-pipeline with the settings", from, m.Configs)
		}
		if len(m.Templates) != 3 || m.Namespace != "fieldflow" {
			t.Errorf("LoadManifests(%q): %d templates in %q", from, len(m.Templates), m.Namespace)
		}
	}
}
