package kustomize_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	plugins "github.com/argoproj/argo-workflows/v3/workflow/util/plugins"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/generator/deploy"
)

// TestEveryBuild builds each overlay and the component and checks every
// container in it.
func TestEveryBuild(t *testing.T) {
	r := newRepo(t)
	for _, dir := range []string{minikubeDir, awsDir, componentDir} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			b := build(t, r, dir)
			if len(b.objects) == 0 {
				t.Fatal("no objects")
			}
			for _, c := range containers(t, b) {
				if err := lockedDown(c); err != nil {
					t.Errorf("%s: %v", c.where, err)
				}
			}
		})
	}
}

// TestRemoteResourcesArePinned checks the releases the minikube overlay
// installs, as the test saw them before leaving them out.
func TestRemoteResourcesArePinned(t *testing.T) {
	r := newRepo(t)
	want := map[string]string{deploy.ArgoWorkflowsInstall: "/v3.7.3/", deploy.ArgoEventsInstall: "/v1.9.7/"}
	for url, version := range want {
		if !strings.Contains(url, version) || !strings.HasPrefix(url, "https://github.com/argoproj/") {
			t.Errorf("%s is not pinned to %s", url, version)
		}
	}
	if len(r.skipped) != len(want) {
		t.Errorf("remote resources %v, want exactly %d", r.skipped, len(want))
	}
	for _, url := range r.skipped {
		if _, ok := want[url]; !ok {
			t.Errorf("unexpected remote resource %s", url)
		}
	}
}

type podContainer struct {
	where string
	pod   *corev1.PodSecurityContext
	c     corev1.Container
}

// containers lists every container fieldflow deploys (stubs of remote
// manifests excepted), the executor plugin's sidecar among them, read from
// its ConfigMap as Argo's controller reads it.
func containers(t *testing.T, b *built) []podContainer {
	t.Helper()
	var out []podContainer
	add := func(where string, spec corev1.PodSpec) {
		for _, c := range append(spec.InitContainers, spec.Containers...) {
			out = append(out, podContainer{where: where + "/" + c.Name, pod: spec.SecurityContext, c: c})
		}
	}
	for _, o := range b.objects {
		if o.stub {
			continue
		}
		where := fmt.Sprintf("%s %s/%s", o.kind, o.namespace, o.name)
		switch v := o.value.(type) {
		case *appsv1.Deployment:
			add(where, v.Spec.Template.Spec)
		case *batchv1.Job:
			add(where, v.Spec.Template.Spec)
		case *wfv1.WorkflowTemplate:
			for _, tmpl := range v.Spec.Templates {
				if tmpl.Container != nil {
					out = append(out, podContainer{where: where + "/" + tmpl.Name, pod: v.Spec.SecurityContext, c: *tmpl.Container})
				}
			}
		case *corev1.ConfigMap:
			if v.Labels[common.LabelKeyConfigMapType] != common.LabelValueTypeConfigMapExecutorPlugin {
				continue
			}
			p, err := plugins.FromConfigMap(v)
			if err != nil {
				t.Errorf("%s as Argo reads it: %v", where, err)
				continue
			}
			// The agent pod's own security context is Argo's (non-root).
			out = append(out, podContainer{where: where + "/sidecar", c: p.Spec.Sidecar.Container})
		}
	}
	return out
}

// lockedDown: requests and limits, non-root, no privilege escalation, all
// capabilities dropped, a read-only root filesystem and a pinned image.
func lockedDown(pc podContainer) error {
	c, sc := pc.c, pc.c.SecurityContext
	var problems []string
	for _, list := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
		if list.Cpu().IsZero() || list.Memory().IsZero() {
			problems = append(problems, "cpu and memory requests and limits")
			break
		}
	}
	nonRoot := sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot ||
		pc.pod != nil && pc.pod.RunAsNonRoot != nil && *pc.pod.RunAsNonRoot
	if !nonRoot {
		problems = append(problems, "runAsNonRoot")
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) > 0 {
		problems = append(problems, "no privilege escalation and capabilities drop ALL")
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		problems = append(problems, "readOnlyRootFilesystem")
	}
	if err := pinned(c.Image); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("want %s", strings.Join(problems, ", "))
	}
	return nil
}

// pinned accepts an image with a tag other than latest, or a digest.
func pinned(image string) error {
	if strings.Contains(image, "@sha256:") {
		return nil
	}
	name := image[strings.LastIndex(image, "/")+1:]
	i := strings.LastIndex(name, ":")
	if i < 0 || name[i+1:] == "" || name[i+1:] == "latest" {
		return fmt.Errorf("a pinned image tag (have %q)", image)
	}
	return nil
}

func TestPinned(t *testing.T) {
	for image, ok := range map[string]bool{
		"prom/prometheus:v3.5.0":         true,
		"localhost:5000/fieldflow:0.1.0": true,
		"fieldflow@sha256:0123":          true,
		"fieldflow":                      false,
		"localhost:5000/fieldflow":       false,
		"grafana/grafana:latest":         false,
	} {
		if err := pinned(image); (err == nil) != ok {
			t.Errorf("pinned(%q) = %v", image, err)
		}
	}
}

// TestRBACIsExactlyWhatIsNeeded pins every rule of every Role and
// ClusterRole fieldflow deploys, and that each binding binds an existing
// role to an existing account.
func TestRBACIsExactlyWhatIsNeeded(t *testing.T) {
	want := map[string]string{
		// workflow pods report their outputs; the agent runs the plugin nodes and reports them
		"Role fieldflow/fieldflow-workflow": "argoproj.io/workflowtaskresults:create,patch argoproj.io/workflowtasksets:list,watch argoproj.io/workflowtasksets/status:patch",
		// the plugin's sidecar creates the Workflows release and reconcile submit
		"Role fieldflow/fieldflow-executor-plugin": "argoproj.io/workflows:create,get",
		// the sensors create Workflows
		"Role fieldflow/fieldflow-sensor": "argoproj.io/workflows:create",
		// node discovery, cAdvisor through the node proxy, service discovery
		"ClusterRole /fieldflow-prometheus": "/nodes,nodes/proxy,nodes/metrics,services,endpoints,pods:get,list,watch",
		// --resources=pods
		"ClusterRole /fieldflow-kube-state-metrics": "/pods:list,watch",
	}
	b := build(t, newRepo(t), minikubeDir)
	got := map[string]string{}
	accounts := map[string]bool{}
	for _, o := range b.objects {
		key := fmt.Sprintf("%s %s/%s", o.kind, o.namespace, o.name)
		switch v := o.value.(type) {
		case *rbacv1.Role:
			got[key] = rules(v.Rules)
		case *rbacv1.ClusterRole:
			got[key] = rules(v.Rules)
		case *corev1.ServiceAccount:
			accounts[o.namespace+"/"+o.name] = true
		}
	}
	for key, rule := range want {
		if got[key] != rule {
			t.Errorf("%s grants %q, want %q", key, got[key], rule)
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("%s is not in the table of what is needed", key)
		}
	}
	for _, o := range b.objects {
		var ref rbacv1.RoleRef
		var subjects []rbacv1.Subject
		switch v := o.value.(type) {
		case *rbacv1.RoleBinding:
			ref, subjects = v.RoleRef, v.Subjects
			ref.Name = "Role " + o.namespace + "/" + ref.Name
		case *rbacv1.ClusterRoleBinding:
			ref, subjects = v.RoleRef, v.Subjects
			ref.Name = "ClusterRole /" + ref.Name
		default:
			continue
		}
		if _, ok := got[ref.Name]; !ok {
			t.Errorf("%s %s binds the missing %s", o.kind, o.name, ref.Name)
		}
		for _, s := range subjects {
			if !accounts[s.Namespace+"/"+s.Name] {
				t.Errorf("%s %s binds the missing ServiceAccount %s/%s", o.kind, o.name, s.Namespace, s.Name)
			}
		}
	}
}

func rules(rs []rbacv1.PolicyRule) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s/%s:%s", strings.Join(r.APIGroups, ","), strings.Join(r.Resources, ","), strings.Join(r.Verbs, ",")))
	}
	return strings.Join(out, " ")
}

// TestNoSecretDataCheckedIn reads every YAML file git tracks or would
// track, and checks that .env and aws.env are ignored.
func TestNoSecretDataCheckedIn(t *testing.T) {
	out, err := exec.Command("git", "-C", repoRoot, "ls-files", "--cached", "--others", "--exclude-standard", "*.yaml", "*.yml").Output()
	if err != nil {
		t.Skipf("git ls-files: %v", err)
	}
	files := strings.Fields(string(out))
	if len(files) < 10 {
		t.Fatalf("only %d YAML files: %v", len(files), files)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			continue // deleted in the work tree
		}
		for i, doc := range strings.Split(string(b), "\n---\n") {
			var s struct {
				Kind       string
				Data       map[string]any
				StringData map[string]any `json:"stringData"`
			}
			if yaml.Unmarshal([]byte(doc), &s) != nil || s.Kind != "Secret" {
				continue
			}
			if len(s.Data) > 0 || len(s.StringData) > 0 {
				t.Errorf("%s #%d: a Secret with data", f, i)
			}
		}
	}
	for _, f := range []string{minikubeDir + "/.env", awsDir + "/aws.env"} {
		if err := exec.Command("git", "-C", repoRoot, "check-ignore", "-q", f).Run(); err != nil {
			t.Errorf("%s is not git-ignored", f)
		}
	}
}

// TestNamespaces: each part lands in its own namespace, whatever the
// including overlay does.
func TestNamespaces(t *testing.T) {
	b := build(t, newRepo(t), minikubeDir)
	want := map[string]string{
		"WorkflowTemplate": "fieldflow", "EventSource": "fieldflow", "Sensor": "fieldflow", "EventBus": "fieldflow",
		"Job": "fieldflow", "PersistentVolumeClaim": "fieldflow",
	}
	names := map[string]string{
		"prometheus": deploy.MonitoringNamespace, "grafana": deploy.MonitoringNamespace, "kube-state-metrics": deploy.MonitoringNamespace,
		"minio": "fieldflow", "workflow-controller-metrics": "argo", "argo-server": "argo",
	}
	for _, o := range b.objects {
		ns, ok := want[o.kind]
		if n, byName := names[o.name]; byName {
			ns, ok = n, true
		}
		if ok && o.namespace != ns {
			t.Errorf("%s %s is in namespace %q, want %q", o.kind, o.name, o.namespace, ns)
		}
	}
	for _, ns := range []string{"fieldflow", "argo", "argo-events", deploy.MonitoringNamespace} {
		if b.find("Namespace", "", ns) == nil {
			t.Errorf("no Namespace %s", ns)
		}
	}
}

// kustomizationOf reads a checked-in kustomization.
func kustomizationOf(t *testing.T, dir string) *types.Kustomization {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	k := &types.Kustomization{}
	if err := yaml.UnmarshalStrict(b, k); err != nil {
		t.Fatal(err)
	}
	return k
}
