package generator

import (
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/generator/deploy"
	"github.com/fieldflow/fieldflow/generator/podimage"
	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// Names shared by the rendered objects.
const (
	// The service accounts workflow pods and the EventSource run as: the
	// AWS roles' trust (terraform/) names them.
	WorkflowServiceAccount = "fieldflow-workflow"
	EventsServiceAccount   = "fieldflow-events"
	sensorServiceAccount   = "fieldflow-sensor"
	scratchVolume          = "scratch"
	scratchPath            = "/tmp"
	outputsDir             = scratchPath + "/outputs"
	pipelineConfigMap      = pipeline.ConfigMap
	keyParam               = pipeline.KeyParam
	partOf                 = "fieldflow"
	// runAs is the user the image runs as.
	runAs = podimage.UID
	// gpuResource is the extended resource NVIDIA's device plugin offers.
	gpuResource corev1.ResourceName = "nvidia.com/gpu"
)

// The annotations Argo's UI reads a title and a description from (its
// UI code names them; its Go module does not).
const (
	TitleAnnotation       = "workflows.argoproj.io/title"
	DescriptionAnnotation = "workflows.argoproj.io/description"
)

func objectMeta(c Config, name, title, description string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      name,
		Namespace: c.Namespace,
		Labels:    labels(),
		Annotations: map[string]string{
			TitleAnnotation:       title,
			DescriptionAnnotation: description,
		},
	}
}

func labels() map[string]string {
	return map[string]string{"app.kubernetes.io/part-of": partOf}
}

// workflowDefaults are the settings every fieldflow workflow has: its
// service account, a non-root pod, garbage collection and a deadline.
func workflowDefaults(spec *wfv1.WorkflowSpec) {
	spec.ServiceAccountName = WorkflowServiceAccount
	spec.ActiveDeadlineSeconds = ptr(int64(3600))
	spec.PodGC = &wfv1.PodGC{Strategy: wfv1.PodGCOnPodSuccess}
	spec.TTLStrategy = &wfv1.TTLStrategy{
		SecondsAfterSuccess: ptr(int32(24 * 3600)),
		SecondsAfterFailure: ptr(int32(7 * 24 * 3600)),
	}
	spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr(true),
		RunAsUser:      ptr(int64(runAs)),
		RunAsGroup:     ptr(int64(runAs)),
		FSGroup:        ptr(int64(runAs)),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	spec.Volumes = []corev1.Volume{{
		Name:         scratchVolume,
		VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr(resource.MustParse("1Gi"))}},
	}}
	spec.PodMetadata = &wfv1.Metadata{Labels: labels()}
}

// container runs `fieldflow args...` in a workflow pod with the pipeline
// settings, the store and its credentials, read-only and without
// privileges.
func container(c Config, profile pipeline.Profile, args ...string) (*corev1.Container, error) {
	res, err := resources(profile)
	if err != nil {
		return nil, err
	}
	ctr := &corev1.Container{
		Image:           c.Image,
		ImagePullPolicy: corev1.PullPolicy(c.ImagePullPolicy),
		Command:         []string{"fieldflow"},
		Args:            args,
		Env:             env(c),
		Resources:       res,
		VolumeMounts:    []corev1.VolumeMount{{Name: scratchVolume, MountPath: scratchPath}},
		SecurityContext: deploy.Locked(),
	}
	return ctr, nil
}

// env is a workflow container's environment: the settings and the store
// (settingsEnv, storeEnv) and the workflow's name.
func env(c Config) []corev1.EnvVar {
	out := append(settingsEnv(c), corev1.EnvVar{Name: pipeline.WorkflowEnv, Value: "{{workflow.name}}"})
	return append(out, storeEnv(c)...)
}

// settingsEnv reads the pipeline settings, the store and the region from
// the ConfigMap pipelineConfigMap, so a kustomize overlay can change them
// without touching the templates; the endpoint is left to storeEnv.
func settingsEnv(c Config) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, kv := range c.pipelineData() {
		if kv[0] != "AWS_ENDPOINT_URL" { // storeEnv's, optional
			out = append(out, configMapEnv(kv[0], false))
		}
	}
	return out
}

// storeEnv is how a container reaches the store: the endpoint and the S3
// keys, both optional references. On AWS (IRSA, no endpoint) the overlay
// removes them, and a pod without them still starts.
func storeEnv(c Config) []corev1.EnvVar {
	var out []corev1.EnvVar
	if c.S3.Endpoint != "" {
		out = append(out, configMapEnv("AWS_ENDPOINT_URL", true))
	}
	if c.S3.CredentialsSecret != "" {
		for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
			out = append(out, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: c.S3.CredentialsSecret},
					Key:                  k,
					Optional:             ptr(true),
				},
			}})
		}
	}
	return out
}

func configMapEnv(name string, optional bool) corev1.EnvVar {
	ref := &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: pipelineConfigMap}, Key: name}
	if optional {
		ref.Optional = ptr(true)
	}
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: ref}}
}

// pipelineConfig is the ConfigMap every fieldflow container reads its
// settings from (see env).
func pipelineConfig(c Config) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: pipelineConfigMap, Namespace: c.Namespace, Labels: labels()},
		Data:       map[string]string{},
	}
	for _, kv := range c.pipelineData() {
		cm.Data[kv[0]] = kv[1]
	}
	return cm
}

// resources turns a profile into requests and limits; a GPU is requested
// and limited alike, as Kubernetes requires for extended resources. It is
// also the profile's check: a quantity Kubernetes would refuse, or a
// request above its limit, is an error naming the key.
func resources(p pipeline.Profile) (corev1.ResourceRequirements, error) {
	r := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for _, q := range []struct {
		name            corev1.ResourceName
		request, limit  string
		requestKey, key string
	}{
		{corev1.ResourceCPU, p.CPURequest, p.CPULimit, "cpuRequest", "cpuLimit"},
		{corev1.ResourceMemory, p.MemoryRequest, p.MemoryLimit, "memoryRequest", "memoryLimit"},
	} {
		req, err := resource.ParseQuantity(q.request)
		if err != nil {
			return r, fmt.Errorf("%s %q: %w", q.requestKey, q.request, err)
		}
		limit, err := resource.ParseQuantity(q.limit)
		if err != nil {
			return r, fmt.Errorf("%s %q: %w", q.key, q.limit, err)
		}
		if req.Cmp(limit) > 0 {
			return r, fmt.Errorf("%s %s is above %s %s", q.requestKey, q.request, q.key, q.limit)
		}
		r.Requests[q.name], r.Limits[q.name] = req, limit
	}
	switch {
	case p.GPUs < 0:
		return r, fmt.Errorf("gpus %d: want 0 or more", p.GPUs)
	case p.GPUs == 0 && p.GPUType != "":
		return r, fmt.Errorf("gpuType %q without gpus", p.GPUType)
	case p.GPUs > 0:
		gpus := *resource.NewQuantity(int64(p.GPUs), resource.DecimalSI)
		r.Requests[gpuResource], r.Limits[gpuResource] = gpus, gpus
	}
	return r, nil
}

// nodeSelector puts GPU runs on nodes with the profile's GPU type.
func nodeSelector(c Config, p pipeline.Profile) map[string]string {
	if p.GPUs == 0 || p.GPUType == "" {
		return nil
	}
	return map[string]string{c.GPUNodeLabel: p.GPUType}
}

func ptr[T any](v T) *T { return &v }
