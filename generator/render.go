package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/generator/deploy"
	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/plugin"
)

// File is one rendered file: its path relative to the repository root and
// the objects it holds, in order. A path ending in .json holds one object,
// written as indented JSON (Grafana reads dashboards only as JSON, and JSON
// has no comments for the header); any other path is a YAML stream.
type File struct {
	Path string
	// Comment, when set, is written under the header, each line as a YAML
	// comment: what a reader of the file must know that its objects cannot
	// say.
	Comment string
	Objects []any
}

// ExecutorPluginFile holds the executor plugin's ConfigMap and its
// account, Role, binding and token.
const ExecutorPluginFile = "templates/executor-plugin.yaml"

// Where the monitoring files go: the kustomize monitoring component turns
// them into ConfigMaps.
const (
	monitoringDir  = deploy.Root + "components/monitoring/"
	PrometheusFile = monitoringDir + deploy.PrometheusFile
	RulesFile      = monitoringDir + "prometheus/" + RulesFileName
	DashboardFile  = monitoringDir + deploy.DashboardFile
	datasourceFile = monitoringDir + deploy.DatasourcesFile
	providerFile   = monitoringDir + deploy.DashboardsFile
)

// Render builds every file from the config.
func Render(c Config) ([]File, error) {
	p, err := c.Pipeline()
	if err != nil {
		return nil, err
	}
	var files []File
	var templates []*wfv1.WorkflowTemplate
	for _, a := range p.Assets {
		wt, err := assetTemplate(c, p, a)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", a.Name, err)
		}
		templates = append(templates, wt)
		files = append(files, File{Path: "templates/" + a.TemplateName() + ".yaml", Objects: []any{wt}})
	}
	rec, err := reconcileTemplate(c, p)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	templates = append(templates, rec)
	ep, err := executorPlugin(c)
	if err != nil {
		return nil, err
	}
	files = append(files,
		File{Path: "templates/" + pipeline.ReconcileTemplate + ".yaml", Objects: []any{rec, reconcileCron(c)}},
		File{Path: "templates/rbac.yaml", Objects: append(rbac(c, WorkflowServiceAccount, workflowRules), serviceAccountToken(c, WorkflowServiceAccount))},
		File{Path: ExecutorPluginFile, Objects: append([]any{ep}, append(rbac(c, plugin.ServiceAccount, pluginRules), serviceAccountToken(c, plugin.ServiceAccount))...)},
		File{Path: "templates/" + pipelineConfigMap + ".yaml", Objects: []any{pipelineConfig(c)}},
		File{Path: "argo-events/eventbus.yaml", Objects: []any{eventBus(c)}},
		File{Path: "argo-events/eventsource-minio.yaml", Objects: []any{minioEventSource(c, p)}},
		File{Path: "argo-events/eventsource-sqs.yaml", Objects: []any{sqsEventSource(c)}},
		File{Path: "argo-events/rbac.yaml", Objects: append(rbac(c, sensorServiceAccount, sensorRules), serviceAccount(c, EventsServiceAccount))},
	)
	for _, src := range sources {
		s, err := sensor(c, p, src)
		if err != nil {
			return nil, fmt.Errorf("sensor %s: %w", src.name, err)
		}
		files = append(files, File{Path: "argo-events/sensor-" + src.name + ".yaml", Objects: []any{s}})
	}
	files = append(files, folderKustomization("templates", files), folderKustomization("argo-events", files))
	mon, err := monitoringFiles(c)
	if err != nil {
		return nil, err
	}
	files = append(files, mon...)
	k, err := deploy.Files(deployParams(c, templates, ep))
	if err != nil {
		return nil, fmt.Errorf("kustomize: %w", err)
	}
	for _, f := range k {
		files = append(files, File{Path: f.Path, Comment: f.Comment, Objects: f.Objects})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	if err := checkNulls(files); err != nil {
		return nil, fmt.Errorf("generated files carry nulls: %w", err)
	}
	return files, nil
}

// deployParams are the names kustomize/ refers to.
func deployParams(c Config, templates []*wfv1.WorkflowTemplate, executorPlugin *corev1.ConfigMap) deploy.Params {
	return deploy.Params{
		Namespace:         c.Namespace,
		Bucket:            c.Bucket,
		Image:             c.Image,
		PipelineConfigMap: pipelineConfigMap,
		S3Secret:          c.S3.CredentialsSecret,
		MinIOSecret:       c.MinIO.CredentialsSecret,
		WorkflowAccount:   WorkflowServiceAccount,
		EventsAccount:     EventsServiceAccount,
		MinIOSource:       minioSourceName,
		SQSSource:         sqsSourceName,
		SQSEvent:          sqsEventName,
		Templates:         templates,
		ExecutorPlugin:    executorPlugin,
		Controller:        c.Controller,
	}
}

// folderKustomization lists the files rendered into dir, so that kustomize
// takes the folder as one resource (a kustomization may not name loose
// files outside its own root).
func folderKustomization(dir string, files []File) File {
	k := &types.Kustomization{TypeMeta: types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind}}
	for _, f := range files {
		if rest, ok := strings.CutPrefix(f.Path, dir+"/"); ok {
			k.Resources = append(k.Resources, rest)
		}
	}
	sort.Strings(k.Resources)
	return File{Path: dir + "/kustomization.yaml", Objects: []any{k}}
}

// header marks every generated file.
const header = "# Generated by `make generate` (fieldflow generate) from the pipeline definition. Do not edit.\n"

// monitoringFiles are Prometheus' configuration and alert rules and
// Grafana's dashboard and provisioning.
func monitoringFiles(c Config) ([]File, error) {
	d, err := buildDashboard(c)
	if err != nil {
		return nil, err
	}
	return []File{
		{Path: PrometheusFile, Objects: []any{prometheusConfig()}},
		{Path: RulesFile, Objects: []any{alertRules()}},
		{Path: DashboardFile, Objects: []any{d}},
		{Path: datasourceFile, Objects: []any{grafanaDatasources()}},
		{Path: providerFile, Objects: []any{grafanaDashboards()}},
	}, nil
}

// Bytes marshals a file's objects as a YAML stream, or its one object as
// JSON for a .json path.
func (f File) Bytes() ([]byte, error) {
	if filepath.Ext(f.Path) == ".json" {
		return f.jsonBytes()
	}
	var buf bytes.Buffer
	buf.WriteString(header)
	if f.Comment != "" {
		for _, line := range strings.Split(strings.TrimSuffix(f.Comment, "\n"), "\n") {
			buf.WriteString(strings.TrimRight("# "+line, " ") + "\n")
		}
	}
	for i, o := range f.Objects {
		if i > 0 {
			buf.WriteString("---\n")
		}
		b, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

func (f File) jsonBytes() ([]byte, error) {
	if len(f.Objects) != 1 {
		return nil, fmt.Errorf("%s: a JSON file holds one object, not %d", f.Path, len(f.Objects))
	}
	b, err := json.MarshalIndent(f.Objects[0], "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return append(b, '\n'), nil
}

// Write renders into root, replacing the files it owns.
func Write(root string, c Config) ([]string, error) {
	files, err := Render(c)
	if err != nil {
		return nil, err
	}
	var written []string
	for _, f := range files {
		b, err := f.Bytes()
		if err != nil {
			return nil, err
		}
		path := filepath.Join(root, f.Path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return nil, err
		}
		written = append(written, f.Path)
	}
	return written, nil
}
