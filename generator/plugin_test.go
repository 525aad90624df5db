package generator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/pkg/plugins/spec"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	plugins "github.com/argoproj/argo-workflows/v3/workflow/util/plugins"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/processor/plugin"
	"github.com/fieldflow/fieldflow/processor/rules"
)

// pluginOp decodes a plugin node's body as the sidecar must be able to:
// strictly (no unknown field, nothing after it), one plugin, fieldflow,
// with exactly one operation set.
func pluginOp(t *testing.T, tmpl wfv1.Template) plugin.Op {
	t.Helper()
	if tmpl.Plugin == nil {
		t.Fatalf("template %s is no plugin node", tmpl.Name)
	}
	dec := json.NewDecoder(bytes.NewReader(tmpl.Plugin.Value))
	dec.DisallowUnknownFields()
	var body map[string]plugin.Op
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("template %s: plugin body %s: %v", tmpl.Name, tmpl.Plugin.Value, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("template %s: data after the plugin body", tmpl.Name)
	}
	op, ok := body[plugin.Name]
	if !ok || len(body) != 1 {
		t.Fatalf("template %s: plugins %v, want %s alone", tmpl.Name, slices.Collect(maps.Keys(body)), plugin.Name)
	}
	set := 0
	for _, isSet := range []bool{op.Check != nil, op.Verdict != nil, op.Ready != nil, op.Submit != nil, op.Status != nil} {
		if isSet {
			set++
		}
	}
	if set != 1 {
		t.Fatalf("template %s: %d operations set, want one: %s", tmpl.Name, set, tmpl.Plugin.Value)
	}
	return op
}

// TestEveryStepButProcessIsAPluginNode checks each template's steps: the
// DAG, process in its own pod, and everything else a fieldflow plugin
// node whose body decodes strictly, declaring the outputs the contract
// says that operation replies with, as supplied values with the default a
// failed node reports.
func TestEveryStepButProcessIsAPluginNode(t *testing.T) {
	p := checkedInPipeline(t)
	var states []string
	for _, s := range rules.States {
		states = append(states, string(s))
	}
	// planned is a plugin template's operation and the outputs it declares.
	type planned struct {
		op      string
		outputs []string
	}
	submit := planned{"submit", []string{plugin.OutputWorkflow}}
	for _, tc := range []struct {
		template string
		ops      map[string]planned
	}{
		{"fieldflow-box", map[string]planned{
			listTemplate:   {"ready", []string{"field"}},
			"submit-field": submit,
		}},
		{"fieldflow-field", map[string]planned{
			checkTemplate:    {"check", []string{plugin.OutputReady, plugin.OutputReason, plugin.OutputState}},
			notReadyTemplate: {"verdict", []string{plugin.OutputState, plugin.OutputReason}},
			listTemplate:     {"ready", []string{"field"}},
			"submit-field":   submit,
		}},
		{"fieldflow-reconcile", map[string]planned{
			listTemplate:   {"ready", []string{"box", "field"}},
			statusTemplate: {"status", append(states, plugin.OutputOldestWaiting)},
			"submit-box":   submit,
			"submit-field": submit,
		}},
	} {
		t.Run(tc.template, func(t *testing.T) {
			wt := decodeAll(t).templates[tc.template]
			if wt == nil {
				t.Fatalf("no WorkflowTemplate %s", tc.template)
			}
			seen := map[string]bool{}
			for _, tmpl := range wt.Spec.Templates {
				switch {
				case tmpl.DAG != nil:
					if tmpl.Name != mainTemplate {
						t.Errorf("DAG template %s", tmpl.Name)
					}
				case tmpl.Container != nil:
					if tmpl.Name != processTemplate {
						t.Errorf("%s runs a pod: only process may", tmpl.Name)
					}
				case tmpl.Plugin != nil:
					seen[tmpl.Name] = true
					want, ok := tc.ops[tmpl.Name]
					if !ok {
						t.Errorf("unexpected plugin template %s", tmpl.Name)
						continue
					}
					if got := pluginOp(t, tmpl).Kind(); got != want.op {
						t.Errorf("%s runs %s, want %s", tmpl.Name, got, want.op)
					}
					var declared []string
					for _, out := range tmpl.Outputs.Parameters {
						declared = append(declared, out.Name)
						if out.Value != nil || out.ValueFrom == nil || out.ValueFrom.Supplied == nil || out.ValueFrom.Default == nil {
							t.Errorf("%s: output %s is not declared as supplied, with a default: %+v", tmpl.Name, out.Name, out)
						}
					}
					if !slices.Equal(declared, want.outputs) {
						t.Errorf("%s declares outputs %v, want %v", tmpl.Name, declared, want.outputs)
					}
				default:
					t.Errorf("template %s is neither a DAG, process nor a plugin node", tmpl.Name)
				}
			}
			for name := range tc.ops {
				if !seen[name] {
					t.Errorf("no plugin template %s", name)
				}
			}
		})
	}
	if len(p.Assets) != 2 {
		t.Fatalf("the table is for boxes and fields, the pipeline has %d assets", len(p.Assets))
	}
}

// TestOddKeysReachThePlugin runs the substitutions Argo's controller makes
// before a plugin node reaches the agent, with Argo's own code, on keys
// that would break JSON built by text or that Argo's items escape: quotes,
// a backslash, HTML characters, a tab, UTF-8. A submit's key comes from a
// list: the withParam item made a string (wfv1.Item, as the controller's
// processItem does), put into the task's argument, then into the
// template's body (util/template on the JSON); the sidecar reads it back
// with plugin.ItemKey. A check's and a verdict's key is the workflow's
// parameter, put straight into the body. Each must arrive exact, and the
// Workflow a submit asks for must pass Argo's validation with it.
func TestOddKeysReachThePlugin(t *testing.T) {
	o := decodeAll(t)
	keys := []string{
		`fields/input/x/fields_2025-06-02 "a'b+c".jsonl`,
		`boxes/input/a\b<c>&d é.jsonl`,
		"fields/input/x/fields_2025-06-02\t.jsonl",
	}
	submits, checks := 0, 0
	for _, wt := range o.templates {
		for _, tmpl := range wt.Spec.Templates {
			if tmpl.Plugin == nil {
				continue
			}
			op := pluginOp(t, tmpl)
			for _, key := range keys {
				switch {
				case op.Submit != nil:
					submits++
					got := submittedKey(t, tmpl, key)
					if got.Submit.Template == "" || !maps.Equal(got.Submit.Labels, labels()) {
						t.Errorf("%s/%s: submits %+v", wt.Name, tmpl.Name, got.Submit)
					}
					item, err := plugin.ItemKey(got.Submit.Item)
					if err != nil || item != key {
						t.Errorf("%s/%s: key %q arrives as item %q, read back as %q (%v)", wt.Name, tmpl.Name, key, got.Submit.Item, item, err)
						continue
					}
					validateWorkflow(t, o, &wfv1.Workflow{
						ObjectMeta: metav1.ObjectMeta{Name: plugin.WorkflowName(got.Submit.Template, "uid", item), Namespace: wt.Namespace, Labels: got.Submit.Labels},
						Spec: wfv1.WorkflowSpec{
							WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: got.Submit.Template},
							Arguments:           wfv1.Arguments{Parameters: []wfv1.Parameter{{Name: keyParam, Value: wfv1.AnyStringPtr(item)}}},
						},
					})
				case op.Check != nil, op.Verdict != nil:
					checks++
					got := pluginOp(t, argoSubstitute(t, tmpl, map[string]string{
						"workflow.parameters." + keyParam: key,
						"inputs.parameters.check":         "start-date",
					}, true))
					if got.Check != nil && (got.Check.Key != key || got.Check.Name != "start-date") {
						t.Errorf("%s/%s: check arrives as %+v, want key %q", wt.Name, tmpl.Name, got.Check, key)
					}
					if got.Verdict != nil && got.Verdict.Key != key {
						t.Errorf("%s/%s: verdict arrives as %+v, want key %q", wt.Name, tmpl.Name, got.Verdict, key)
					}
				}
			}
		}
	}
	if submits != 4*len(keys) || checks != 2*len(keys) {
		t.Errorf("%d submits and %d checks tried, want 4 and 2 templates' worth", submits, checks)
	}
}

// submittedKey hands key to a submit template as a list's withParam item,
// the controller's way, and decodes the body the agent would get.
func submittedKey(t *testing.T, submit wfv1.Template, key string) plugin.Op {
	t.Helper()
	var item wfv1.Item
	if err := json.Unmarshal(mustJSON(t, key), &item); err != nil {
		t.Fatal(err)
	}
	arg := argoReplace(t, wfv1.Parameter{Name: keyParam, Value: wfv1.AnyStringPtr("{{item}}")}, map[string]string{"item": fmt.Sprintf("%v", item)})
	return pluginOp(t, argoReplace(t, submit, map[string]string{"inputs.parameters." + keyParam: arg.Value.String()}))
}

// sidecarOf reads the executor plugin's ConfigMap back as Argo's
// controller does (FromConfigMap, which validates the sidecar's port,
// resources and security context).
func sidecarOf(t *testing.T, o *objects) *spec.Plugin {
	t.Helper()
	cm := o.configMaps[plugin.ConfigMap]
	if cm == nil {
		t.Fatalf("no ConfigMap %s", plugin.ConfigMap)
	}
	p, err := plugins.FromConfigMap(cm)
	if err != nil {
		t.Fatalf("ConfigMap %s as Argo reads it: %v", cm.Name, err)
	}
	return p
}

// TestExecutorPlugin checks the plugin's ConfigMap as Argo's controller
// reads it and builds the agent pod from it: discovered by its label,
// named after the plugin, beside the templates, the sidecar serving the
// contract's port with the token paths Argo mounts, given the plugin
// account's token, small and locked down; and ToConfigMap writes it back
// unchanged.
func TestExecutorPlugin(t *testing.T) {
	o := decodeAll(t)
	p := sidecarOf(t, o)
	cm := o.configMaps[plugin.ConfigMap]
	ctr := p.Spec.Sidecar.Container
	sc := ctr.SecurityContext
	c := checkedIn(t)
	for _, check := range []struct {
		what string
		ok   bool
	}{
		{"discovered as an executor plugin", cm.Labels[common.LabelKeyConfigMapType] == common.LabelValueTypeConfigMapExecutorPlugin && p.Kind == common.LabelValueTypeConfigMapExecutorPlugin},
		{"named after the plugin", p.Name == plugin.Name},
		{"in the templates' namespace", cm.Namespace == o.templates["fieldflow-box"].Namespace},
		{"the plugin account's token mounted", p.Spec.Sidecar.AutomountServiceAccountToken && o.accounts[p.Name+"-executor-plugin"] != nil && p.Name+"-executor-plugin" == plugin.ServiceAccount},
		{"the container named by the contract", ctr.Name == plugin.Container},
		{"the image of the pods", ctr.Image == c.Image && string(ctr.ImagePullPolicy) == c.ImagePullPolicy},
		{"serving `fieldflow plugin`", slices.Equal(ctr.Command, []string{"fieldflow"}) && slices.Equal(ctr.Args, []string{
			"plugin", "--port", strconv.Itoa(plugin.Port), "--token", plugin.TokenPath, "--serviceaccount", plugin.ServiceAccountDir})},
		{"on the contract's port, the first (Argo calls localhost on Ports[0])", len(ctr.Ports) == 1 && ctr.Ports[0].ContainerPort == plugin.Port},
		{"no volume of its own (the agent pod has none)", len(ctr.VolumeMounts) == 0},
		{"the light profile", ctr.Resources.Requests.Cpu().String() == lightProfile.CPURequest && ctr.Resources.Limits.Cpu().String() == lightProfile.CPULimit &&
			ctr.Resources.Requests.Memory().String() == lightProfile.MemoryRequest && ctr.Resources.Limits.Memory().String() == lightProfile.MemoryLimit},
		{"non-root as the image's user", sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot && sc.RunAsUser != nil && *sc.RunAsUser == runAs},
		{"in the group that can read the agent's token", sc != nil && sc.RunAsGroup != nil && *sc.RunAsGroup == agentGroup},
		{"read-only, unprivileged, no capabilities, default seccomp", sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem &&
			sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation && sc.Privileged == nil &&
			sc.Capabilities != nil && slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) && len(sc.Capabilities.Add) == 0 &&
			sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
	} {
		if !check.ok {
			t.Errorf("executor plugin: not %s: %+v", check.what, ctr)
		}
	}
	again, err := plugins.ToConfigMap(p)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(again.Data, cm.Data) {
		t.Errorf("ToConfigMap(FromConfigMap(cm)) differs from cm:\n%v\n%v", again.Data, cm.Data)
	}
}
