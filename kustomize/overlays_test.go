package kustomize_test

import (
	"bufio"
	"bytes"
	"slices"
	"strings"
	"testing"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	wfconfig "github.com/argoproj/argo-workflows/v3/config"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/generator"
	"github.com/fieldflow/fieldflow/generator/deploy"
)

// envFile reads a KEY=value file as kustomize does.
func envFile(t *testing.T, r *repo, path string) map[string]string {
	t.Helper()
	b, err := r.fs.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out
}

func TestAWSOverlay(t *testing.T) {
	r := newRepo(t)
	tf := envFile(t, r, awsDir+"/aws.env")
	for _, name := range []string{"processor_role_arn", "events_role_arn", "bucket", "region", "queue_name", "ecr_repository_url"} {
		if tf[name] == "" {
			t.Fatalf("aws.env.example lacks the terraform output %s", name)
		}
	}
	b := build(t, r, awsDir)

	for account, output := range map[string]string{generator.WorkflowServiceAccount: "processor_role_arn", generator.EventsServiceAccount: "events_role_arn"} {
		sa, _ := b.find("ServiceAccount", "fieldflow", account).(*corev1.ServiceAccount)
		if sa == nil || sa.Annotations[deploy.RoleAnnotation] != tf[output] {
			t.Errorf("ServiceAccount %s: role %v, want %s from %s", account, sa, tf[output], output)
		}
	}
	for _, o := range b.objects {
		if strings.Contains(o.name, "minio") {
			t.Errorf("%s %s: no MinIO on AWS", o.kind, o.name)
		}
		if o.name == "terraform-outputs" {
			t.Error("the local-config ConfigMap terraform-outputs is in the output")
		}
		// The agent's token Secrets hold no credentials of fieldflow's:
		// Kubernetes fills them with the accounts' tokens.
		if s, ok := o.value.(*corev1.Secret); ok && s.Type != corev1.SecretTypeServiceAccountToken {
			t.Errorf("Secret %s on AWS: pods use their IAM role", s.Name)
		}
	}
	for _, w := range deploy.Withdrawn {
		if strings.Contains(b.yaml, w) {
			t.Errorf("%s is still in the AWS build", w)
		}
	}
	cm, _ := b.find("ConfigMap", "fieldflow", "fieldflow-pipeline").(*corev1.ConfigMap)
	if cm == nil || cm.Data["FIELDFLOW_STORE"] != "s3://"+tf["bucket"] || cm.Data["AWS_REGION"] != tf["region"] {
		t.Errorf("pipeline ConfigMap %v, want the bucket and region of aws.env", cm)
	}
	es, _ := b.find("EventSource", "fieldflow", "sqs").(*ev.EventSource)
	if es == nil || len(es.Spec.SQS) != 1 {
		t.Fatalf("sqs EventSource %v", es)
	}
	for _, src := range es.Spec.SQS {
		if src.Queue != tf["queue_name"] || src.Region != tf["region"] {
			t.Errorf("sqs EventSource reads %s in %s, want %s in %s", src.Queue, src.Region, tf["queue_name"], tf["region"])
		}
	}
	if es.Spec.Template == nil || es.Spec.Template.ServiceAccountName != generator.EventsServiceAccount {
		t.Error("the sqs EventSource does not run as fieldflow-events")
	}
	sidecars := 0
	for _, c := range containers(t, b) {
		if !strings.HasPrefix(c.c.Image, tf["ecr_repository_url"]+":") {
			t.Errorf("%s runs %s, want the ECR repository %s", c.where, c.c.Image, tf["ecr_repository_url"])
		}
		if strings.HasSuffix(c.where, "/sidecar") {
			sidecars++
		}
	}
	if sidecars != 1 {
		t.Errorf("%d executor plugin sidecars, want one", sidecars)
	}
}

func TestMinikubeOverlay(t *testing.T) {
	r := newRepo(t)
	env := envFile(t, r, minikubeDir+"/.env")
	b := build(t, r, minikubeDir)

	for _, kind := range []string{"EventSource", "Sensor"} {
		if b.find(kind, "fieldflow", "sqs") != nil {
			t.Errorf("%s sqs on minikube", kind)
		}
		if b.find(kind, "fieldflow", "minio") == nil {
			t.Errorf("no %s minio", kind)
		}
	}
	if b.find("EventBus", "fieldflow", "default") == nil {
		t.Error("no EventBus")
	}
	job, _ := b.find("Job", "fieldflow", "minio-create-bucket").(*batchv1.Job)
	if job == nil || !slices.Contains(job.Spec.Template.Spec.Containers[0].Args, "local/irrigation") {
		t.Errorf("bucket Job %v does not create the bucket irrigation", job)
	}
	svc, _ := b.find("Service", "fieldflow", "minio").(*corev1.Service)
	if svc == nil || len(svc.Spec.Ports) != 2 || svc.Spec.Ports[0].Port != 9000 || svc.Spec.Ports[1].Port != 9001 {
		t.Errorf("MinIO Service %v, want the API on 9000 and the console on 9001", svc)
	}
	for secret, keys := range map[string][2]string{
		"fieldflow-s3":    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
		"fieldflow-minio": {"accesskey", "secretkey"},
		"minio-root":      {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"},
	} {
		s, _ := b.find("Secret", "fieldflow", secret).(*corev1.Secret)
		if s == nil || string(s.Data[keys[0]]) != env["MINIO_ROOT_USER"] || string(s.Data[keys[1]]) != env["MINIO_ROOT_PASSWORD"] || len(s.Data) != 2 {
			t.Errorf("Secret %s: want %v from .env", secret, keys)
		}
	}
	server, _ := b.find("Deployment", "argo", "argo-server").(*appsv1.Deployment)
	if server == nil || !slices.Contains(server.Spec.Template.Spec.Containers[0].Args, "--auth-mode=server") {
		t.Error("argo-server is not patched to --auth-mode=server")
	}
	cm, _ := b.find("ConfigMap", "argo", "workflow-controller-configmap").(*corev1.ConfigMap)
	var metrics wfconfig.MetricsConfig
	if cm == nil || yaml.UnmarshalStrict([]byte(cm.Data["metricsConfig"]), &metrics) != nil ||
		metrics.Port != 9090 || metrics.Secure == nil || !*metrics.Secure || metrics.Enabled == nil || !*metrics.Enabled {
		t.Errorf("controller metrics config %v, want enabled over TLS on 9090", cm)
	}
	if b.find("Service", "argo", "workflow-controller-metrics") == nil {
		t.Error("no Service for the controller's metrics")
	}
	controllerAfterBuild(t, b)
	for _, name := range []string{"prometheus", "grafana", "kube-state-metrics"} {
		if b.find("Deployment", deploy.MonitoringNamespace, name) == nil {
			t.Errorf("no %s: the monitoring component is not included", name)
		}
	}
	wt, _ := b.find("WorkflowTemplate", "fieldflow", "fieldflow-box").(*wfv1.WorkflowTemplate)
	if wt == nil {
		t.Fatal("no WorkflowTemplate fieldflow-box")
	}
}

func TestMonitoringComponent(t *testing.T) {
	b := build(t, newRepo(t), componentDir)
	k := kustomizationOf(t, monitoringDir)
	if k.Kind != "Component" {
		t.Errorf("%s is a %s, want a Component", monitoringDir, k.Kind)
	}
	for _, o := range b.objects {
		clusterScoped := o.kind == "Namespace" || strings.HasPrefix(o.kind, "Cluster")
		if !clusterScoped && o.namespace != deploy.MonitoringNamespace {
			t.Errorf("%s %s in namespace %q", o.kind, o.name, o.namespace)
		}
	}
	ksm, _ := b.find("Deployment", deploy.MonitoringNamespace, "kube-state-metrics").(*appsv1.Deployment)
	if ksm == nil || !slices.Contains(ksm.Spec.Template.Spec.Containers[0].Args, "--metric-labels-allowlist=pods=[workflows.argoproj.io/workflow]") {
		t.Error("kube-state-metrics does not export the workflow label of pods")
	}
	// Every ConfigMap a pod mounts exists (kustomize renamed the generated
	// ones) and holds the files the generator writes.
	wantFiles := map[string][]string{
		"prometheus":                  {"prometheus.yml", "rules.yml"},
		"grafana-dashboards":          {"fieldflow-dashboard.json"},
		"grafana-datasources":         {"datasources.yaml"},
		"grafana-dashboard-providers": {"dashboards.yaml"},
	}
	mounted := 0
	for _, o := range b.objects {
		d, ok := o.value.(*appsv1.Deployment)
		if !ok {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.ConfigMap == nil {
				continue
			}
			mounted++
			cm, _ := b.find("ConfigMap", deploy.MonitoringNamespace, v.ConfigMap.Name).(*corev1.ConfigMap)
			if cm == nil {
				t.Errorf("%s mounts the missing ConfigMap %s", d.Name, v.ConfigMap.Name)
				continue
			}
			for prefix, files := range wantFiles {
				if strings.HasPrefix(v.ConfigMap.Name, prefix+"-") {
					for _, f := range files {
						if _, ok := cm.Data[f]; !ok {
							t.Errorf("ConfigMap %s lacks %s", cm.Name, f)
						}
					}
				}
			}
		}
	}
	if mounted != 4 {
		t.Errorf("%d ConfigMaps mounted, want Prometheus' config and Grafana's three", mounted)
	}
}
