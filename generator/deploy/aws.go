package deploy

import (
	"fmt"
	"slices"
	"sort"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"
)

const (
	awsDir = Root + "overlays/aws/"
	// terraformOutputs is the local-config ConfigMap read from aws.env
	// (`terraform output` names); it is used by the replacements and never
	// applied.
	terraformOutputs = "terraform-outputs"
	// RoleAnnotation is how EKS (IRSA) gives a service account's pods an
	// IAM role.
	RoleAnnotation = "eks.amazonaws.com/role-arn"
)

// Withdrawn is what the AWS overlay removes from every fieldflow
// container: pods reach S3 with their service account's role, not keys,
// and AWS's own endpoint.
var Withdrawn = []string{"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}

// aws is the base on EKS: the sqs source instead of MinIO's, the IRSA
// roles, bucket, region, queue and ECR image from terraform's outputs.
func aws(p Params) ([]File, error) {
	k := kustomization()
	k.Resources = []string{"../../base"}
	k.ConfigMapGenerator = []types.ConfigMapArgs{{GeneratorArgs: types.GeneratorArgs{
		Name:          terraformOutputs,
		KvPairSources: types.KvPairSources{EnvSources: []string{"aws.env"}},
		Options: &types.GeneratorOptions{
			DisableNameSuffixHash: true,
			Annotations:           map[string]string{"config.kubernetes.io/local-config": "true"},
		},
	}}}
	patches, files := eventDeletions(awsDir, p.Namespace, p.MinIOSource)
	k.Patches = append(patches, types.Patch{
		Path:   "pipeline-config.yaml",
		Target: &types.Selector{ResId: configMapID(p.PipelineConfigMap)},
	})
	files = append(files, File{Path: awsDir + "pipeline-config.yaml", Objects: []any{[]JSONPatchOp{
		{Op: "remove", Path: "/data/AWS_ENDPOINT_URL"},
	}}})
	for _, wt := range p.Templates {
		ops := withdrawEnv(wt)
		if len(ops) == 0 {
			continue
		}
		name := "env-" + wt.Name + ".yaml"
		k.Patches = append(k.Patches, types.Patch{Path: name, Target: &types.Selector{
			ResId: resid.ResId{Gvk: resid.Gvk{Group: "argoproj.io", Version: "v1alpha1", Kind: "WorkflowTemplate"}, Name: wt.Name},
		}})
		files = append(files, File{Path: awsDir + name, Objects: []any{ops}})
	}
	if p.ExecutorPlugin != nil {
		ops, err := withdrawSidecarEnv(p.ExecutorPlugin)
		if err != nil {
			return nil, err
		}
		name := "env-" + p.ExecutorPlugin.Name + ".yaml"
		k.Patches = append(k.Patches, types.Patch{Path: name, Target: &types.Selector{ResId: configMapID(p.ExecutorPlugin.Name)}})
		files = append(files, File{Path: awsDir + name, Objects: []any{ops}})
	}
	k.Replacements = fromTerraform(p)
	return append(files, File{Path: awsDir + "kustomization.yaml", Comment: awsNotes, Objects: []any{k}}), nil
}

// awsNotes head the AWS overlay's kustomization: what it needs of the
// cluster and of kustomize that it cannot set itself.
const awsNotes = `The cluster's Argo Workflows controller must run with ARGO_EXECUTOR_PLUGINS=true (executor
plugins are off by default): every step of the templates but process runs on the workflow's
agent pod, through the fieldflow executor plugin (templates/executor-plugin.yaml). Give it the
environment the minikube overlay gives it (overlays/minikube/argo-workflows/workflow-controller.yaml:
plugins on and the latency settings), e.g. with the Helm chart's controller.extraEnv.

The ECR image is set inside the plugin's ConfigMap (the YAML in data.sidecar.container) by a
replacement into structured data, which kustomize reads since v5.8.0 (kustomize/api v0.21). With a
kubectl whose kustomize is older, build with kustomize v5.8+ and apply the output.`

// JSONPatchOp is one RFC 6902 operation.
type JSONPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value,omitempty"`
}

// withdrawEnv removes the Withdrawn variables from every container of wt.
// Each remove is preceded by a test of the entry's name, so a template
// changed without `make generate` fails the build instead of losing the
// wrong variable; indexes go down so earlier removes do not shift later
// ones.
func withdrawEnv(wt *wfv1.WorkflowTemplate) []JSONPatchOp {
	var ops []JSONPatchOp
	for i, tmpl := range wt.Spec.Templates {
		if tmpl.Container == nil {
			continue
		}
		var idx []int
		for j, e := range tmpl.Container.Env {
			for _, w := range Withdrawn {
				if e.Name == w {
					idx = append(idx, j)
				}
			}
		}
		sort.Sort(sort.Reverse(sort.IntSlice(idx)))
		for _, j := range idx {
			path := fmt.Sprintf("/spec/templates/%d/container/env/%d", i, j)
			ops = append(ops,
				JSONPatchOp{Op: "test", Path: path + "/name", Value: tmpl.Container.Env[j].Name},
				JSONPatchOp{Op: "remove", Path: path},
			)
		}
	}
	return ops
}

// fromTerraform copies terraform's outputs (aws.env) into the objects:
// the IRSA role of each service account, the bucket and region the pods
// use, the queue the sqs EventSource reads, and the ECR repository in
// front of the image's tag.
func fromTerraform(p Params) []types.ReplacementField {
	var (
		configMap   = configMapID(p.PipelineConfigMap)
		eventSource = resid.ResId{Gvk: resid.Gvk{Group: "argoproj.io", Version: "v1alpha1", Kind: "EventSource"}, Name: p.SQSSource}
		account     = func(name string) resid.ResId {
			return resid.ResId{Gvk: resid.Gvk{Version: "v1", Kind: "ServiceAccount"}, Name: name}
		}
		sqs    = "spec.sqs." + p.SQSEvent + "."
		create = &types.FieldOptions{Create: true}
	)
	return []types.ReplacementField{
		replace("processor_role_arn", target(account(p.WorkflowAccount), create, "metadata.annotations.["+RoleAnnotation+"]")),
		replace("events_role_arn", target(account(p.EventsAccount), create, "metadata.annotations.["+RoleAnnotation+"]")),
		replace("bucket", target(configMap, &types.FieldOptions{Delimiter: "//", Index: 1}, "data.FIELDFLOW_STORE")),
		replace("region",
			target(configMap, nil, "data.AWS_REGION"),
			target(eventSource, nil, sqs+"region")),
		replace("queue_name", target(eventSource, nil, sqs+"queue")),
		replace("ecr_repository_url", ecrTargets(p)...),
	}
}

// ecrTargets are the images the ECR repository goes in front of: every
// template container's, and the plugin sidecar's, inside its ConfigMap's
// YAML. Templates are selected by name, those that run a container only:
// a replacement fails on a target where its path matches nothing, and the
// reconcile runs no pod.
func ecrTargets(p Params) []*types.TargetSelector {
	repo := &types.FieldOptions{Delimiter: ":", Index: 0}
	var out []*types.TargetSelector
	for _, wt := range p.Templates {
		if slices.ContainsFunc(wt.Spec.Templates, func(t wfv1.Template) bool { return t.Container != nil }) {
			out = append(out, target(resid.ResId{Gvk: resid.Gvk{Group: "argoproj.io", Version: "v1alpha1", Kind: "WorkflowTemplate"}, Name: wt.Name},
				repo, "spec.templates.*.container.image"))
		}
	}
	if p.ExecutorPlugin != nil {
		out = append(out, target(configMapID(p.ExecutorPlugin.Name), repo, "data.["+sidecarKey+"].image"))
	}
	return out
}

func configMapID(name string) resid.ResId {
	return resid.ResId{Gvk: resid.Gvk{Version: "v1", Kind: "ConfigMap"}, Name: name}
}

func replace(output string, targets ...*types.TargetSelector) types.ReplacementField {
	return types.ReplacementField{Replacement: types.Replacement{
		Source: &types.SourceSelector{
			ResId:     resid.ResId{Gvk: resid.Gvk{Version: "v1", Kind: "ConfigMap"}, Name: terraformOutputs},
			FieldPath: "data." + output,
		},
		Targets: targets,
	}}
}

func target(id resid.ResId, opts *types.FieldOptions, paths ...string) *types.TargetSelector {
	return &types.TargetSelector{Select: &types.Selector{ResId: id}, FieldPaths: paths, Options: opts}
}
