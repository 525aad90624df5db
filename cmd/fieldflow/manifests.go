//go:build !pod

package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/templates"
)

// manifestsPipeline is the pipeline of the manifests the Argo engine runs
// (dir/templates, or the built-in copies): built from their pipeline
// ConfigMap, as the pods' environment is, so that the status table judges
// inputs as the pods and the engine do.
func manifestsPipeline(dir string) (*pipeline.Pipeline, error) {
	fsys := fs.FS(templates.FS)
	if dir != "" {
		fsys = os.DirFS(filepath.Join(dir, "templates"))
	}
	b, err := fs.ReadFile(fsys, pipeline.ConfigMap+".yaml")
	if err != nil {
		return nil, fmt.Errorf("the manifests' pipeline ConfigMap: %w", err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(b, &cm); err != nil {
		return nil, fmt.Errorf("%s.yaml: %w", pipeline.ConfigMap, err)
	}
	if cm.Kind != "ConfigMap" || cm.Name != pipeline.ConfigMap {
		return nil, fmt.Errorf("%s.yaml holds %s %q, want ConfigMap %s", pipeline.ConfigMap, cm.Kind, cm.Name, pipeline.ConfigMap)
	}
	p, err := pipeline.FromData(cm.Data)
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s: %w", cm.Name, err)
	}
	return p, nil
}
