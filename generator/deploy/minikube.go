package deploy

import (
	"fmt"
	"strings"

	wfconfig "github.com/argoproj/argo-workflows/v3/config"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/generator/podimage"
)

// Releases the minikube overlay installs, as remote resources pinned by
// version (the projects publish install.yaml as a release asset).
const (
	ArgoWorkflowsInstall = "https://github.com/argoproj/argo-workflows/releases/download/v3.7.3/install.yaml"
	ArgoEventsInstall    = "https://github.com/argoproj/argo-events/releases/download/v1.9.7/install.yaml"
	MinIOImage           = "minio/minio:RELEASE.2025-09-07T16-13-09Z"
	MCImage              = "minio/mc:RELEASE.2025-08-13T08-35-41Z"
)

// Names other packages read: the generator's scrape targets, the engine.
const (
	// ArgoNamespace is where Argo Workflows' release manifest installs its
	// controller (the patches name it, as its objects do); the engine runs
	// its controller there too.
	ArgoNamespace = "argo"
	// ControllerMetricsService is the Service Prometheus scrapes the
	// controller's metrics through; the release manifest has none.
	ControllerMetricsService = "workflow-controller-metrics"
	ControllerMetricsPort    = 9090
)

const (
	minikubeOverlay = "overlays/minikube/"
	minikubeDir     = Root + minikubeOverlay
	// minioRoot is the Secret generated from the overlay's .env
	// (MINIO_ROOT_USER, MINIO_ROOT_PASSWORD).
	minioRoot = "minio-root"
	// nonroot is the uid MinIO and mc run as here: any uid owning /data
	// would do; the pod image's, so one non-root uid runs the whole stack.
	nonroot = podimage.UID
)

// minikube is the whole stack on one machine: the base, MinIO and its
// bucket, Argo Workflows and Argo Events from their releases, and the
// monitoring component. The sqs source is AWS's and is removed.
func minikube(p Params) ([]File, error) {
	k := kustomization()
	k.Resources = []string{"../../base", "argo-workflows", "argo-events", "minio.yaml"}
	k.Components = []string{"../../components/monitoring"}
	// Not hashed: the Job's pod template is immutable and would refuse a
	// new Secret name.
	k.SecretGenerator = []types.SecretArgs{{GeneratorArgs: types.GeneratorArgs{
		Namespace: p.Namespace, Name: minioRoot,
		KvPairSources: types.KvPairSources{EnvSources: []string{".env"}},
		Options:       &types.GeneratorOptions{DisableNameSuffixHash: true},
	}}}
	patches, deletes := eventDeletions(minikubeDir, p.Namespace, p.SQSSource)
	k.Patches = patches
	k.Replacements = credentialCopies(p)
	controller, err := controllerPatch(p.Controller)
	if err != nil {
		return nil, err
	}
	return append(deletes,
		File{Path: minikubeDir + "kustomization.yaml", Objects: []any{k}},
		File{Path: minikubeDir + "minio.yaml", Objects: minio(p)},
		argoWorkflows(), argoWorkflowsControllerPatch(), controller, argoServerPatch(), controllerMetricsService(),
		File{Path: minikubeDir + "argo-workflows/namespace.yaml", Objects: []any{namespace(ArgoNamespace)}},
		argoEvents(),
		File{Path: minikubeDir + "argo-events/namespace.yaml", Objects: []any{namespace("argo-events")}},
	), nil
}

// Deletion is a strategic merge patch that deletes the object it names.
type Deletion struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   ObjectID `json:"metadata"`
	Patch      string   `json:"$patch"`
}

// ObjectID names an object.
type ObjectID struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// eventDeletions delete the EventSource and the Sensor of a source, one
// patch file each (kustomize applies one strategic merge patch per file).
func eventDeletions(dir, namespace, source string) ([]types.Patch, []File) {
	var patches []types.Patch
	var files []File
	for _, kind := range []string{"EventSource", "Sensor"} {
		name := "delete-" + strings.ToLower(kind) + "-" + source + ".yaml"
		d := Deletion{APIVersion: "argoproj.io/v1alpha1", Kind: kind, Metadata: ObjectID{Name: source, Namespace: namespace}, Patch: "delete"}
		patches = append(patches, types.Patch{Path: name})
		files = append(files, File{Path: dir + name, Objects: []any{d}})
	}
	return patches, files
}

// credentialCopies fill the Secrets the templates (S3Secret) and the minio
// EventSource (MinIOSecret) read from MinIO's root user, each under the
// key names its reader expects.
func credentialCopies(p Params) []types.ReplacementField {
	var out []types.ReplacementField
	for _, c := range []struct{ from, secret, key string }{
		{"MINIO_ROOT_USER", p.S3Secret, "AWS_ACCESS_KEY_ID"},
		{"MINIO_ROOT_PASSWORD", p.S3Secret, "AWS_SECRET_ACCESS_KEY"},
		{"MINIO_ROOT_USER", p.MinIOSecret, "accesskey"},
		{"MINIO_ROOT_PASSWORD", p.MinIOSecret, "secretkey"},
	} {
		out = append(out, types.ReplacementField{Replacement: types.Replacement{
			Source: &types.SourceSelector{ResId: secretID(minioRoot), FieldPath: "data." + c.from},
			Targets: []*types.TargetSelector{{
				Select:     &types.Selector{ResId: secretID(c.secret)},
				FieldPaths: []string{"data." + c.key},
				Options:    &types.FieldOptions{Create: true},
			}},
		}})
	}
	return out
}

func secretID(name string) resid.ResId {
	return resid.ResId{Gvk: resid.Gvk{Version: "v1", Kind: "Secret"}, Name: name}
}

// minio is MinIO with a volume, its Service (API and console), the
// bucket Job and the two empty Secrets the replacements fill.
func minio(p Params) []any {
	ctr := corev1.Container{
		Name:  "minio",
		Image: MinIOImage,
		Args:  []string{"server", "/data", "--console-address", ":9001", "--certs-dir", "/tmp/certs"},
		Env: []corev1.EnvVar{
			secretEnv("MINIO_ROOT_USER", minioRoot, "MINIO_ROOT_USER"),
			secretEnv("MINIO_ROOT_PASSWORD", minioRoot, "MINIO_ROOT_PASSWORD"),
		},
		Ports:          []corev1.ContainerPort{containerPort("api", 9000), containerPort("console", 9001)},
		ReadinessProbe: httpProbe("/minio/health/ready", "api"),
		Resources:      limits("100m", "256Mi", "1", "1Gi"),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "data", MountPath: "/data"},
			{Name: "tmp", MountPath: "/tmp"},
		},
		SecurityContext: Locked(),
	}
	pod := corev1.PodSpec{
		AutomountServiceAccountToken: ptr(false),
		SecurityContext:              podSecurity(nonroot),
		Containers:                   []corev1.Container{ctr},
		Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "minio-data"}}},
			emptyDir("tmp"),
		},
	}
	d := deployment(p.Namespace, "minio", pod)
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType} // one pod per volume
	return []any{
		&corev1.PersistentVolumeClaim{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
			ObjectMeta: meta(p.Namespace, "minio-data"),
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
			},
		},
		d,
		service(p.Namespace, "minio", port("api", 9000), port("console", 9001)),
		bucketJob(p),
		emptySecret(p.Namespace, p.S3Secret),
		emptySecret(p.Namespace, p.MinIOSecret),
	}
}

// emptySecret is filled by the overlay's replacements: no checked-in file
// holds credentials.
func emptySecret(namespace, name string) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: meta(namespace, name),
		Type:       corev1.SecretTypeOpaque,
	}
}

// bucketJob creates the bucket, retrying until MinIO is up. mc takes the
// server from MC_HOST_local, built by Kubernetes from the two variables
// before it, so nothing is written but mc's config in /tmp.
func bucketJob(p Params) *batchv1.Job {
	ctr := corev1.Container{
		Name:    "mc",
		Image:   MCImage,
		Command: []string{"mc"},
		Args:    []string{"mb", "--ignore-existing", "local/" + p.Bucket},
		Env: []corev1.EnvVar{
			secretEnv("MINIO_ROOT_USER", minioRoot, "MINIO_ROOT_USER"),
			secretEnv("MINIO_ROOT_PASSWORD", minioRoot, "MINIO_ROOT_PASSWORD"),
			{Name: "MC_HOST_local", Value: fmt.Sprintf("http://$(MINIO_ROOT_USER):$(MINIO_ROOT_PASSWORD)@minio.%s.svc:9000", p.Namespace)},
			{Name: "MC_CONFIG_DIR", Value: "/tmp/mc"},
		},
		Resources:       limits("10m", "32Mi", "200m", "128Mi"),
		VolumeMounts:    []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
		SecurityContext: Locked(),
	}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta(p.Namespace, "minio-create-bucket"),
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr(int32(10)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels("minio-create-bucket")},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyOnFailure,
					AutomountServiceAccountToken: ptr(false),
					SecurityContext:              podSecurity(nonroot),
					Containers:                   []corev1.Container{ctr},
					Volumes:                      []corev1.Volume{emptyDir("tmp")},
				},
			},
		},
	}
}

// argoWorkflows installs the v3.7.3 release into namespace argo, with its
// controller's metrics on (TLS, as by default since v3.6; Prometheus
// scrapes them through controllerMetricsService), executor plugins on and
// the latency settings (controllerPatch), and the UI without login
// (--auth-mode=server), for a local cluster only.
func argoWorkflows() File {
	k := kustomization()
	k.Namespace = ArgoNamespace
	k.Resources = []string{"namespace.yaml", ArgoWorkflowsInstall, "controller-metrics-service.yaml"}
	k.Patches = []types.Patch{
		{Path: common.ConfigMapName + ".yaml"},
		{Path: controllerPatchName},
		{Path: "argo-server.yaml"},
	}
	return File{Path: minikubeDir + "argo-workflows/kustomization.yaml", Objects: []any{k}}
}

// argoWorkflowsControllerPatch turns the controller's metrics on. Patches
// are apply configurations, not the API types: every field of those is
// optional, so a patch holds only what it sets. appsv1.Deployment would
// carry `selector: null` (no omitempty), which a strategic merge patch
// reads as "delete the release's selector", and `creationTimestamp: null`,
// `strategy: {}`, `resources: {}`, `status: {}` besides.
func argoWorkflowsControllerPatch() File {
	metrics, err := yaml.Marshal(wfconfig.MetricsConfig{Enabled: ptr(true), Path: "/metrics", Port: 9090, Secure: ptr(true)})
	if err != nil {
		panic(err) // a struct of strings, ints and bools always marshals
	}
	cm := corev1ac.ConfigMap(common.ConfigMapName, ArgoNamespace).
		WithData(map[string]string{"metricsConfig": string(metrics)})
	return File{Path: minikubeDir + "argo-workflows/" + common.ConfigMapName + ".yaml", Objects: []any{cm}}
}

// argoServerPatch serves the UI without login (see argoWorkflows). The
// container's args replace the release's (a list without a merge key).
func argoServerPatch() File {
	d := appsv1ac.Deployment("argo-server", ArgoNamespace).WithSpec(appsv1ac.DeploymentSpec().
		WithTemplate(corev1ac.PodTemplateSpec().WithSpec(corev1ac.PodSpec().
			WithContainers(corev1ac.Container().WithName("argo-server").WithArgs("server", "--auth-mode=server")))))
	return File{Path: minikubeDir + "argo-workflows/argo-server.yaml", Objects: []any{d}}
}

// controllerMetricsService is the Service prometheus.yml scrapes; the
// release manifest has none.
func controllerMetricsService() File {
	s := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: ControllerMetricsService, Labels: map[string]string{"app": "workflow-controller"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "workflow-controller"},
			Ports:    []corev1.ServicePort{{Name: "metrics", Port: ControllerMetricsPort, TargetPort: intstr.FromString("metrics")}},
		},
	}
	return File{Path: minikubeDir + "argo-workflows/controller-metrics-service.yaml", Objects: []any{s}}
}

// argoEvents installs the v1.9.7 release into namespace argo-events.
func argoEvents() File {
	k := kustomization()
	k.Namespace = "argo-events"
	k.Resources = []string{"namespace.yaml", ArgoEventsInstall}
	return File{Path: minikubeDir + "argo-events/kustomization.yaml", Objects: []any{k}}
}
