package generator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	sensorcheck "github.com/argoproj/argo-events/pkg/reconciler/sensor"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/expr/argoexpr"
	exprenv "github.com/argoproj/argo-workflows/v3/util/expr/env"
	"github.com/argoproj/argo-workflows/v3/util/secrets"
	"github.com/argoproj/argo-workflows/v3/util/template"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	"github.com/argoproj/argo-workflows/v3/workflow/templateresolution"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/plugin"
)

// repoRoot is where the checked-in manifests are.
const repoRoot = ".."

func checkedIn(t *testing.T) Config {
	t.Helper()
	c, err := LoadConfig(filepath.Join(repoRoot, "generator", "fieldflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCheckedInFilesAreCurrent fails when templates/ or argo-events/ differ
// from what `make generate` writes: generated files are never edited by hand.
func TestCheckedInFilesAreCurrent(t *testing.T) {
	files, err := Render(checkedIn(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, f := range files {
		want[f.Path] = true
		b, err := f.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(repoRoot, f.Path))
		if err != nil {
			t.Errorf("%s: %v (run make generate)", f.Path, err)
			continue
		}
		if !bytes.Equal(got, b) {
			t.Errorf("%s differs from what make generate writes: run make generate", f.Path)
		}
	}
	for _, dir := range []string{"templates", "argo-events", "kustomize"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			p, _ := filepath.Rel(repoRoot, path)
			if p = filepath.ToSlash(p); strings.HasSuffix(p, ".yaml") && !want[p] {
				t.Errorf("%s is not generated any more: delete it", p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// objects decodes every checked-in manifest strictly into its upstream Go
// type: an unknown or misspelt field is an error.
type objects struct {
	templates    map[string]*wfv1.WorkflowTemplate
	crons        []*wfv1.CronWorkflow
	sensors      []*ev.Sensor
	eventSources map[string]*ev.EventSource
	eventBus     *ev.EventBus
	roles        map[string]*rbacv1.Role
	accounts     map[string]*corev1.ServiceAccount
	bindings     []*rbacv1.RoleBinding
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
}

func decodeAll(t *testing.T) *objects {
	t.Helper()
	o := &objects{
		templates: map[string]*wfv1.WorkflowTemplate{}, eventSources: map[string]*ev.EventSource{},
		roles: map[string]*rbacv1.Role{}, accounts: map[string]*corev1.ServiceAccount{},
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
	}
	paths, _ := filepath.Glob(filepath.Join(repoRoot, "templates", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join(repoRoot, "argo-events", "*.yaml"))
	for _, path := range append(paths, more...) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(b), "\n---\n") {
			var meta struct{ Kind string }
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				t.Fatalf("%s #%d: %v", path, i, err)
			}
			var into any
			switch meta.Kind {
			case "WorkflowTemplate":
				wt := &wfv1.WorkflowTemplate{}
				o.templates[nameOf(t, doc)] = wt
				into = wt
			case "CronWorkflow":
				cw := &wfv1.CronWorkflow{}
				o.crons = append(o.crons, cw)
				into = cw
			case "Sensor":
				s := &ev.Sensor{}
				o.sensors = append(o.sensors, s)
				into = s
			case "EventSource":
				es := &ev.EventSource{}
				o.eventSources[nameOf(t, doc)] = es
				into = es
			case "EventBus":
				o.eventBus = &ev.EventBus{}
				into = o.eventBus
			case "Role":
				r := &rbacv1.Role{}
				o.roles[nameOf(t, doc)] = r
				into = r
			case "ServiceAccount":
				sa := &corev1.ServiceAccount{}
				o.accounts[nameOf(t, doc)] = sa
				into = sa
			case "RoleBinding":
				rb := &rbacv1.RoleBinding{}
				o.bindings = append(o.bindings, rb)
				into = rb
			case "ConfigMap":
				cm := &corev1.ConfigMap{}
				o.configMaps[nameOf(t, doc)] = cm
				into = cm
			case "Secret":
				s := &corev1.Secret{}
				o.secrets[nameOf(t, doc)] = s
				into = s
			case types.KustomizationKind:
				into = &types.Kustomization{}
			default:
				if kind := meta.Kind; kind != "" {
					t.Fatalf("%s #%d: unexpected kind %q", path, i, kind)
				}
				continue
			}
			if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
				t.Errorf("%s #%d (%s): strict decode: %v", path, i, meta.Kind, err)
			}
		}
	}
	return o
}

func nameOf(t *testing.T, doc string) string {
	var m struct {
		Metadata struct{ Name string }
	}
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return m.Metadata.Name
}

// getter resolves workflowTemplateRef to the rendered templates, so a
// reference to a template that does not exist fails validation.
type getter map[string]*wfv1.WorkflowTemplate

func (g getter) Get(name string) (*wfv1.WorkflowTemplate, error) {
	if wt, ok := g[name]; ok {
		return wt.DeepCopy(), nil
	}
	return nil, fmt.Errorf("no WorkflowTemplate %q", name)
}

func validateWorkflow(t *testing.T, o *objects, wf *wfv1.Workflow) {
	t.Helper()
	err := validate.ValidateWorkflow(getter(o.templates), &templateresolution.NullClusterWorkflowTemplateGetter{}, wf, nil, validate.ValidateOpts{Lint: true, Submit: true})
	if err != nil {
		t.Errorf("workflow %s%s: %v", wf.Name, wf.GenerateName, err)
	}
}

func TestTemplatesPassArgoValidation(t *testing.T) {
	o := decodeAll(t)
	if len(o.templates) != 3 || len(o.crons) != 1 {
		t.Fatalf("%d templates and %d cron workflows", len(o.templates), len(o.crons))
	}
	for name, wt := range o.templates {
		err := validate.ValidateWorkflowTemplate(getter(o.templates), &templateresolution.NullClusterWorkflowTemplateGetter{}, wt, nil, validate.ValidateOpts{Lint: true})
		if err != nil {
			t.Errorf("WorkflowTemplate %s: %v", name, err)
		}
		if wt.Annotations[TitleAnnotation] == "" || wt.Annotations[DescriptionAnnotation] == "" {
			t.Errorf("%s lacks UI title or description", name)
		}
	}
	for _, cw := range o.crons {
		if err := validate.ValidateCronWorkflow(context.Background(), getter(o.templates), &templateresolution.NullClusterWorkflowTemplateGetter{}, cw, nil); err != nil {
			t.Errorf("CronWorkflow %s: %v", cw.Name, err)
		}
		if cw.Spec.ConcurrencyPolicy != wfv1.ForbidConcurrent {
			t.Errorf("CronWorkflow %s may overlap", cw.Name)
		}
	}
}

// argoReplace substitutes Argo's template tags in v as the controller
// does: on its JSON, with util/template. Every tag must resolve.
func argoReplace[T any](t *testing.T, v T, with map[string]string) T {
	t.Helper()
	return argoSubstitute(t, v, with, false)
}

// argoSubstitute is argoReplace, leaving the tags not in with when
// allowUnresolved, as the controller's stages do for what a later stage
// fills (a template's metrics are resolved when its node ends).
func argoSubstitute[T any](t *testing.T, v T, with map[string]string, allowUnresolved bool) T {
	t.Helper()
	out, err := template.Replace(string(mustJSON(t, v)), with, allowUnresolved)
	if err != nil {
		t.Fatal(err)
	}
	var r T
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return r
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEventObjectsPassArgoEventsValidation(t *testing.T) {
	o := decodeAll(t)
	if o.eventBus == nil || o.eventBus.Spec.JetStream == nil || o.eventBus.Spec.JetStream.Version == "" {
		t.Fatal("no pinned JetStream EventBus")
	}
	if len(o.sensors) != 2 || len(o.eventSources) != 2 {
		t.Fatalf("%d sensors, %d event sources", len(o.sensors), len(o.eventSources))
	}
	for _, s := range o.sensors {
		if err := sensorcheck.ValidateSensor(s, o.eventBus); err != nil {
			t.Errorf("Sensor %s: %v", s.Name, err)
		}
		for _, dep := range s.Spec.Dependencies {
			es, ok := o.eventSources[dep.EventSourceName]
			if !ok {
				t.Errorf("sensor %s: dependency %s names no EventSource %q", s.Name, dep.Name, dep.EventSourceName)
				continue
			}
			if _, ok := es.Spec.Minio[dep.EventName]; !ok {
				if _, ok := es.Spec.SQS[dep.EventName]; !ok {
					t.Errorf("sensor %s: dependency %s names no event %q in EventSource %s", s.Name, dep.Name, dep.EventName, es.Name)
				}
			}
		}
		for _, tr := range s.Spec.Triggers {
			if !tr.AtLeastOnce || tr.RetryStrategy == nil || tr.Template.K8s == nil || tr.Template.K8s.Operation != ev.Create {
				t.Errorf("sensor %s trigger %s: want k8s create, retries and atLeastOnce", s.Name, tr.Template.Name)
			}
		}
	}
	if len(o.eventSources["minio"].Spec.Minio) != 2 || len(o.eventSources["sqs"].Spec.SQS) != 1 || !o.eventSources["sqs"].Spec.SQS[sqsEventName].JSONBody {
		t.Error("want a minio EventSource with one event per asset and an sqs EventSource with jsonBody")
	}
}

// TestRBACIsMinimal pins every verb granted: anything more is a failure.
// The workflow's account reports outputs and runs the agent, and creates
// nothing since the submits moved to the plugin; the plugin's creates
// Workflows (and gets one a repeated submit finds).
func TestRBACIsMinimal(t *testing.T) {
	o := decodeAll(t)
	want := map[string]string{
		WorkflowServiceAccount: "argoproj.io/workflowtaskresults:create,patch argoproj.io/workflowtasksets:list,watch argoproj.io/workflowtasksets/status:patch",
		plugin.ServiceAccount:  "argoproj.io/workflows:create,get",
		sensorServiceAccount:   "argoproj.io/workflows:create",
	}
	for name, rules := range want {
		r, ok := o.roles[name]
		if !ok {
			t.Errorf("no Role %s", name)
			continue
		}
		var got []string
		for _, rule := range r.Rules {
			got = append(got, fmt.Sprintf("%s/%s:%s", strings.Join(rule.APIGroups, ","), strings.Join(rule.Resources, ","), strings.Join(rule.Verbs, ",")))
		}
		if strings.Join(got, " ") != rules {
			t.Errorf("Role %s grants %v, want %s", name, got, rules)
		}
		if _, ok := o.accounts[name]; !ok {
			t.Errorf("no ServiceAccount %s", name)
		}
	}
	for _, rb := range o.bindings {
		if rb.RoleRef.Name != rb.Subjects[0].Name || o.roles[rb.RoleRef.Name] == nil {
			t.Errorf("RoleBinding %s binds %s to %s", rb.Name, rb.RoleRef.Name, rb.Subjects[0].Name)
		}
	}
	// Each service account in use has its Role.
	for _, wt := range o.templates {
		if o.roles[wt.Spec.ServiceAccountName] == nil {
			t.Errorf("template %s runs as %q, which has no Role", wt.Name, wt.Spec.ServiceAccountName)
		}
	}
	for _, s := range o.sensors {
		if o.roles[s.Spec.Template.ServiceAccountName] == nil {
			t.Errorf("sensor %s runs as %q, which has no Role", s.Name, s.Spec.Template.ServiceAccountName)
		}
	}
	// The sqs EventSource runs as the account terraform's events role
	// trusts (IRSA); it needs no Kubernetes API access, so no Role.
	sqs := o.eventSources["sqs"]
	if sqs.Spec.Template == nil || sqs.Spec.Template.ServiceAccountName != EventsServiceAccount {
		t.Errorf("sqs EventSource does not run as %s", EventsServiceAccount)
	}
	if o.accounts[EventsServiceAccount] == nil || o.roles[EventsServiceAccount] != nil {
		t.Errorf("want ServiceAccount %s without a Role", EventsServiceAccount)
	}
	if len(o.roles) != len(want) {
		t.Errorf("%d Roles, want exactly %d", len(o.roles), len(want))
	}
}

// TestAgentTokens checks the Secrets Argo's controller mounts into the
// agent pod: a service-account token of the workflow's account (for the
// agent) and of the plugin's (for the sidecar), named as Argo looks them
// up, with no data of their own (Kubernetes fills them).
func TestAgentTokens(t *testing.T) {
	o := decodeAll(t)
	for _, account := range []string{WorkflowServiceAccount, plugin.ServiceAccount} {
		sa := o.accounts[account]
		if sa == nil {
			t.Errorf("no ServiceAccount %s", account)
			continue
		}
		name := secrets.TokenNameForServiceAccount(sa)
		s := o.secrets[name]
		if s == nil {
			t.Errorf("ServiceAccount %s: no Secret %s for the agent pod", account, name)
			continue
		}
		if s.Type != corev1.SecretTypeServiceAccountToken || s.Annotations[corev1.ServiceAccountNameKey] != account ||
			len(s.Data) > 0 || len(s.StringData) > 0 {
			t.Errorf("Secret %s: type %s, annotations %v, %d keys: want an empty token Secret of %s",
				name, s.Type, s.Annotations, len(s.Data)+len(s.StringData), account)
		}
	}
	if len(o.secrets) != 2 {
		t.Errorf("%d Secrets in the generated folders, want the two tokens", len(o.secrets))
	}
}

// TestSettingsComeFromTheConfigMap checks that every setting a container
// reads from the ConfigMap is in it, and that only what the AWS overlay
// removes (the endpoint, the S3 keys) is optional. The workflow containers
// also get the workflow's name; the plugin's sidecar does not: its
// ConfigMap is no template, so {{workflow.name}} would reach it as written.
func TestSettingsComeFromTheConfigMap(t *testing.T) {
	o := decodeAll(t)
	cm := o.configMaps[pipelineConfigMap]
	if cm == nil {
		t.Fatalf("no ConfigMap %s", pipelineConfigMap)
	}
	type checked struct {
		where    string
		ctr      *corev1.Container
		workflow bool // a workflow pod's, templated by Argo
	}
	var containers []checked
	for _, wt := range o.templates {
		for _, tmpl := range wt.Spec.Templates {
			if tmpl.Container != nil {
				containers = append(containers, checked{wt.Name + "/" + tmpl.Name, tmpl.Container, true})
			}
		}
	}
	containers = append(containers, checked{plugin.ConfigMap, &sidecarOf(t, o).Spec.Sidecar.Container, false})
	optional := map[string]bool{"AWS_ENDPOINT_URL": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true}
	for _, c := range containers {
		seen := map[string]bool{}
		for _, e := range c.ctr.Env {
			seen[e.Name] = true
			switch {
			case e.Name == pipeline.WorkflowEnv:
				if e.Value != "{{workflow.name}}" || !c.workflow {
					t.Errorf("%s: %s = %q: want the workflow's name, in workflow pods only", c.where, e.Name, e.Value)
				}
			case e.ValueFrom == nil:
				t.Errorf("%s: %s is literal, want a reference", c.where, e.Name)
			case e.ValueFrom.ConfigMapKeyRef != nil:
				ref := e.ValueFrom.ConfigMapKeyRef
				if _, ok := cm.Data[ref.Key]; ref.Name != pipelineConfigMap || !ok || ref.Key != e.Name {
					t.Errorf("%s: %s reads %s/%s, not in the ConfigMap", c.where, e.Name, ref.Name, ref.Key)
				}
				if got := ref.Optional != nil && *ref.Optional; got != optional[e.Name] {
					t.Errorf("%s: %s optional=%v", c.where, e.Name, got)
				}
			case e.ValueFrom.SecretKeyRef != nil:
				if ref := e.ValueFrom.SecretKeyRef; ref.Optional == nil || !*ref.Optional {
					t.Errorf("%s: Secret ref %s is not optional", c.where, e.Name)
				}
			}
		}
		for key := range cm.Data {
			if !seen[key] {
				t.Errorf("%s does not read %s", c.where, key)
			}
		}
		if c.workflow && !seen[pipeline.WorkflowEnv] {
			t.Errorf("%s: no workflow name", c.where)
		}
	}
}

// TestPodsAreLockedDown checks every container the templates run.
func TestPodsAreLockedDown(t *testing.T) {
	o := decodeAll(t)
	for _, wt := range o.templates {
		psc := wt.Spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil {
			t.Errorf("%s: pod security context %+v", wt.Name, psc)
		}
		for _, tmpl := range wt.Spec.Templates {
			c := tmpl.Container
			if c == nil {
				continue
			}
			sc := c.SecurityContext
			if sc == nil || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !*sc.RunAsNonRoot ||
				len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 ||
				sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s/%s: security context %+v", wt.Name, tmpl.Name, sc)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s/%s: no resources", wt.Name, tmpl.Name)
			}
			if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != scratchPath {
				t.Errorf("%s/%s: no scratch volume", wt.Name, tmpl.Name)
			}
			for _, e := range c.Env {
				if strings.Contains(e.Name, "SECRET") || strings.Contains(e.Name, "ACCESS_KEY") {
					if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
						t.Errorf("%s/%s: %s is not taken from a Secret", wt.Name, tmpl.Name, e.Name)
					}
				}
			}
		}
	}
}

// TestRetryExpression evaluates every rendered retry expression with the
// expression library and function map Argo's controller uses
// (argoexpr.EvalBool over env.GetFuncMap), in the scope its
// buildRetryStrategyLocalScope builds: lastRetry.exitCode is a string, "-1"
// when the pod ended without an exit code, and a plugin node's is what the
// sidecar replied (ExitPermanent or ExitRetry), or none ("0") when the
// agent could not run it. Everything but ExitPermanent retries.
func TestRetryExpression(t *testing.T) {
	o := decodeAll(t)
	retries := map[string]bool{
		"0":   true, // the main container succeeded but the pod failed (outputs not saved)
		"1":   true, // ExitRetry
		"2":   true, // ExitCrash: Go's panic
		"3":   false,
		"137": true, // OOM kill
		"-1":  true, // the pod was deleted or evicted; for a plugin node, "0": the agent failed
		"":    true,
	}
	if retries[strconv.Itoa(pipeline.ExitPermanent)] || !retries[strconv.Itoa(pipeline.ExitRetry)] || !retries[strconv.Itoa(pipeline.ExitCrash)] {
		t.Fatal("the table disagrees with pipeline's exit codes")
	}
	seen := 0
	for _, wt := range o.templates {
		for _, tmpl := range wt.Spec.Templates {
			rs := tmpl.RetryStrategy
			if tmpl.Container == nil && tmpl.Plugin == nil {
				continue
			}
			if rs == nil || rs.Expression != RetryExpression || rs.Backoff == nil || rs.Limit == nil || rs.RetryPolicy != wfv1.RetryPolicyAlways {
				t.Errorf("%s/%s: retry strategy %+v", wt.Name, tmpl.Name, rs)
				continue
			}
			seen++
			for code, want := range retries {
				scope := exprenv.GetFuncMap(map[string]any{
					common.LocalVarRetries:             "0",
					common.LocalVarRetriesLastExitCode: code,
					common.LocalVarRetriesLastStatus:   string(wfv1.NodeFailed),
					common.LocalVarRetriesLastDuration: "1.5",
					common.LocalVarRetriesLastMessage:  "Error (exit code " + code + ")",
				})
				got, err := argoexpr.EvalBool(rs.Expression, scope)
				if err != nil || got != want {
					t.Errorf("%s/%s: %s with exit code %q = %v, %v; want %v", wt.Name, tmpl.Name, rs.Expression, code, got, err, want)
				}
			}
		}
	}
	// box: process, list-ready, submit-field; field: the same and check,
	// not-ready; reconcile: list-ready, status, submit-box, submit-field.
	if seen != 12 {
		t.Errorf("%d steps with a retry strategy, want 12", seen)
	}
	for _, name := range []string{"fieldflow-box", "fieldflow-field"} {
		wt := o.templates[name]
		if wt.Spec.Synchronization == nil || len(wt.Spec.Synchronization.Mutexes) != 1 ||
			!strings.Contains(wt.Spec.Synchronization.Mutexes[0].Name, "workflow.parameters.key") {
			t.Errorf("%s: no mutex on the key", name)
		}
		if wt.Spec.ActiveDeadlineSeconds == nil || wt.Spec.PodGC == nil || wt.Spec.TTLStrategy == nil {
			t.Errorf("%s: no deadline, pod GC or TTL", name)
		}
	}
}

// TestListsArePaged checks that every list a task iterates over is an
// asset's share of one page listed by the plugin's ready operation with
// the page limit, passed as an output parameter, never a step's whole
// result (outputs.result, which Argo cuts past 256 kB).
func TestListsArePaged(t *testing.T) {
	o := decodeAll(t)
	paths, _ := filepath.Glob(filepath.Join(repoRoot, "templates", "*.yaml"))
	for _, path := range paths {
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("outputs.result")) {
			t.Errorf("%s refers to a step's outputs.result", path)
		}
	}
	iterated := 0
	for _, wt := range o.templates {
		templates := map[string]wfv1.Template{}
		for _, tmpl := range wt.Spec.Templates {
			templates[tmpl.Name] = tmpl
		}
		tasks := map[string]wfv1.DAGTask{}
		for _, task := range templates[mainTemplate].DAG.Tasks {
			tasks[task.Name] = task
		}
		for _, task := range tasks {
			if task.WithParam == "" {
				continue
			}
			iterated++
			ref, ok := strings.CutPrefix(task.WithParam, "{{tasks.")
			ref, ok2 := strings.CutSuffix(ref, "}}")
			list, asset, ok3 := strings.Cut(ref, ".outputs.parameters.")
			if !ok || !ok2 || !ok3 {
				t.Errorf("%s/%s iterates over %s", wt.Name, task.Name, task.WithParam)
				continue
			}
			listT := templates[tasks[list].Template]
			op := pluginOp(t, listT)
			if listT.Name != listTemplate || op.Ready == nil || op.Ready.Limit != pipeline.PageLimit || op.Ready.After != "{{inputs.parameters.after}}" {
				t.Errorf("%s/%s: list task %s runs %+v", wt.Name, task.Name, list, op)
			}
			if task.Template != submitName(&pipeline.Asset{Name: asset}) || task.Depends != list+".Succeeded" {
				t.Errorf("%s/%s submits %s's keys with %s", wt.Name, task.Name, asset, task.Template)
			}
			var declared bool
			for _, out := range listT.Outputs.Parameters {
				declared = declared || (out.Name == asset && out.ValueFrom != nil && out.ValueFrom.Supplied != nil && out.ValueFrom.Default.String() == "[]")
			}
			if !declared {
				t.Errorf("%s/%s: %s declares no output %s", wt.Name, task.Name, list, asset)
			}
		}
	}
	// The reconcile submits boxes and fields, each asset template fields.
	if iterated != 4 {
		t.Errorf("%d tasks iterate over a list, want 4", iterated)
	}
}

// TestFieldDAG checks the field template shows each dependency check as a
// task, gates process on all of them, and releases later files.
func TestFieldDAG(t *testing.T) {
	o := decodeAll(t)
	wt := o.templates["fieldflow-field"]
	tasks := map[string]wfv1.DAGTask{}
	for _, tmpl := range wt.Spec.Templates {
		if tmpl.Name == mainTemplate {
			for _, task := range tmpl.DAG.Tasks {
				tasks[task.Name] = task
			}
		}
	}
	for _, check := range []string{"start-date", "box-processed", "earlier-dates-processed"} {
		if _, ok := tasks[check]; !ok {
			t.Errorf("no task %s", check)
		}
		if !strings.Contains(tasks["process"].When, "tasks."+check+".outputs.parameters.ready") {
			t.Errorf("process does not wait for %s: %q", check, tasks["process"].When)
		}
		if !strings.Contains(tasks["not-ready"].When, "tasks."+check+".outputs.parameters.ready") {
			t.Errorf("not-ready ignores %s", check)
		}
	}
	if tasks[releaseTask].Depends != "process.Succeeded" || tasks["submit-field"].WithParam != "{{tasks.release.outputs.parameters.field}}" {
		t.Errorf("release: %+v / %+v", tasks[releaseTask], tasks["submit-field"])
	}
	if wt.Spec.Arguments.Parameters[0].Name != "key" || wt.Spec.Arguments.Parameters[0].Description.String() == "" {
		t.Error("parameter key has no description")
	}
}

func TestMetricNames(t *testing.T) {
	o := decodeAll(t)
	help, kind := map[string]string{}, map[string]string{}
	for _, wt := range o.templates {
		for _, tmpl := range wt.Spec.Templates {
			if tmpl.Metrics == nil {
				continue
			}
			for _, m := range tmpl.Metrics.Prometheus {
				if strings.Trim(m.Name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
					t.Errorf("metric name %q is not [a-z0-9_]", m.Name)
				}
				if h, ok := help[m.Name]; ok && h != m.Help {
					t.Errorf("metric %s has two help texts", m.Name)
				}
				help[m.Name] = m.Help
				k := "gauge"
				if m.Counter != nil {
					k = "counter"
				} else if m.Histogram != nil {
					k = "histogram"
				}
				if prev, ok := kind[m.Name]; ok && prev != k {
					t.Errorf("metric %s is both a %s and a %s", m.Name, prev, k)
				}
				kind[m.Name] = k
			}
		}
	}
	for _, m := range CustomMetrics {
		if _, ok := help[m.Name]; !ok || kind[m.Name] != m.Type {
			t.Errorf("metric %s (%s) is declared by no template as a %s", m.Name, kind[m.Name], m.Type)
		}
	}
}
