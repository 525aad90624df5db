// Package deploy renders kustomize/: the base that deploys the generated
// templates/ and argo-events/ folders, the monitoring component and the
// minikube and aws overlays. Every object is an upstream Go type and every
// kustomization a sigs.k8s.io/kustomize/api/types.Kustomization, marshalled
// by the generator like the rest of its files.
package deploy

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/api/types"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// Params are the names the generated Argo objects use, which the
// kustomizations refer to.
type Params struct {
	Namespace         string
	Bucket            string
	Image             string
	PipelineConfigMap string
	// S3Secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and MinIOSecret
	// (accesskey, secretkey) are what the templates and the minio
	// EventSource read.
	S3Secret    string
	MinIOSecret string
	// WorkflowAccount runs the workflow pods, EventsAccount the sqs
	// EventSource: the two IRSA roles of terraform/.
	WorkflowAccount string
	EventsAccount   string
	// MinIOSource and SQSSource name both an EventSource and its Sensor.
	MinIOSource string
	SQSSource   string
	SQSEvent    string
	// Templates are the rendered WorkflowTemplates: the AWS overlay removes
	// env entries from them by index.
	Templates []*wfv1.WorkflowTemplate
	// ExecutorPlugin is the rendered ConfigMap of the executor plugin: the
	// AWS overlay removes env entries from its sidecar too.
	ExecutorPlugin *corev1.ConfigMap
	// Controller is how the minikube overlay runs Argo's controller.
	Controller Controller
}

// File is one rendered file under kustomize/.
type File struct {
	Path string
	// Comment is written under the file's header as YAML comments.
	Comment string
	Objects []any
}

// Root is where the files go.
const Root = "kustomize/"

// Files renders every file under kustomize/.
func Files(p Params) ([]File, error) {
	files := append(base(p), monitoring()...)
	m, err := minikube(p)
	if err != nil {
		return nil, err
	}
	files = append(files, m...)
	a, err := aws(p)
	if err != nil {
		return nil, err
	}
	files = append(files, a...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// base deploys the generated folders into the namespace. It holds no
// Secret: the overlays provide them (minikube) or make them unneeded (aws).
func base(p Params) []File {
	k := kustomization()
	k.Namespace = p.Namespace
	k.Resources = []string{"namespace.yaml", "../../templates", "../../argo-events"}
	return []File{
		{Path: Root + "base/kustomization.yaml", Objects: []any{k}},
		{Path: Root + "base/namespace.yaml", Objects: []any{namespace(p.Namespace)}},
	}
}

func kustomization() *types.Kustomization {
	return &types.Kustomization{TypeMeta: types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind}}
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels(name)},
	}
}

func labels(name string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "fieldflow"}
}

func meta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels(name)}
}

// Locked is the container security context every container fieldflow
// renders gets, its own and the deployments': non-root, no privilege
// escalation, no capabilities, a read-only root filesystem (writable paths
// are emptyDirs), the runtime's default seccomp profile.
func Locked() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr(true),
		ReadOnlyRootFilesystem:   ptr(true),
		AllowPrivilegeEscalation: ptr(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// podSecurity runs the pod as uid, which owns its volumes.
func podSecurity(uid int64) *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr(true),
		RunAsUser:      ptr(uid),
		RunAsGroup:     ptr(uid),
		FSGroup:        ptr(uid),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// limits are requests and limits: cpu and memory requested, then limited.
func limits(cpuReq, memReq, cpuLim, memLim string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuReq), corev1.ResourceMemory: resource.MustParse(memReq)},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuLim), corev1.ResourceMemory: resource.MustParse(memLim)},
	}
}

func emptyDir(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

func configMapVolume(name, configMap string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: configMap},
	}}}
}

func secretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key,
	}}}
}

func ptr[T any](v T) *T { return &v }
