package plugin

import (
	"bytes"
	"encoding/json"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	executorplugins "github.com/argoproj/argo-workflows/v3/pkg/plugins/executor"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// strict decodes b into v, refusing a field v's type has not.
func strict(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}

// TestWireMatchesArgo holds the wire types to Argo's: every field the
// plugin writes is one of Argo's types, and reads back the same.
func TestWireMatchesArgo(t *testing.T) {
	if succeededPhase != nodePhase(wfv1.NodeSucceeded) || failedPhase != nodePhase(wfv1.NodeFailed) {
		t.Errorf("phases %q %q, Argo's %q %q", succeededPhase, failedPhase, wfv1.NodeSucceeded, wfv1.NodeFailed)
	}
	for name, reply := range map[string]executeReply{
		"succeeded": {Node: ptr(succeeded(answer{message: "2 ready", outputs: []parameter{param("box", `["a\"b"]`), param("field", "[]")}}))},
		"failed":    {Node: ptr(failed(errOutage))},
		"not ours":  {},
	} {
		t.Run(name, func(t *testing.T) {
			ours, err := json.Marshal(reply)
			if err != nil {
				t.Fatal(err)
			}
			var argo executorplugins.ExecuteTemplateReply
			strict(t, ours, &argo)
			again, err := json.Marshal(argo)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, again) {
				t.Errorf("ours %s\nArgo's %s", ours, again)
			}
		})
	}
	t.Run("workflow", func(t *testing.T) {
		wf := newWorkflow(Submit{Template: "fieldflow-field", Labels: map[string]string{"a": "b"}}, uid, ns, fieldReady)
		b, err := json.Marshal(wf)
		if err != nil {
			t.Fatal(err)
		}
		var argo wfv1.Workflow
		strict(t, b, &argo)
		if argo.Kind != "Workflow" || argo.APIVersion != wfv1.SchemeGroupVersion.String() || argo.Name != wf.Name ||
			argo.Spec.WorkflowTemplateRef == nil || argo.Spec.WorkflowTemplateRef.Name != "fieldflow-field" ||
			argo.Spec.Arguments.GetParameterByName(pipeline.KeyParam).Value.String() != fieldReady {
			t.Errorf("Argo reads %s as %+v", b, argo)
		}
	})
}

func ptr[T any](v T) *T { return &v }
