package generator

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/Knetic/govaluate"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/template"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/rules"
)

// TestProcessRunResults emits the rendered process metrics the way Argo's
// controller does when a process step ends, for each way it can end, and
// checks that exactly one fieldflow_runs counter counts it, with the right
// result. The scope has the shape of the controller's prepareMetricScope:
// flat dotted names, exitCode and outputs only when the pod reported them.
func TestProcessRunResults(t *testing.T) {
	exit := strconv.Itoa
	outputs := func(state string) map[string]string {
		return map[string]string{"outputs.parameters." + stateOutput: state, "outputs.parameters.records": "0"}
	}
	for _, tc := range []struct {
		name     string
		status   wfv1.NodePhase
		exitCode string            // "" when the pod reported none
		outputs  map[string]string // nil when the pod reported none
		want     string
	}{
		{"processed", wfv1.NodeSucceeded, exit(pipeline.ExitOK), outputs(string(rules.Done)), "processed"},
		{"invalid input", wfv1.NodeFailed, exit(pipeline.ExitPermanent), outputs(string(rules.Quarantined)), string(rules.Quarantined)},
		{"storage error", wfv1.NodeFailed, exit(pipeline.ExitRetry), outputs(string(rules.Ready)), string(rules.Failed)},
		{"out of range", wfv1.NodeFailed, exit(pipeline.ExitPermanent), outputs(string(rules.OutOfRange)), string(rules.Failed)},
		{"crash", wfv1.NodeFailed, exit(pipeline.ExitCrash), outputs(string(rules.Failed)), string(rules.Failed)}, // the output's default
		{"OOM kill", wfv1.NodeFailed, "137", outputs(string(rules.Failed)), string(rules.Failed)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scope := map[string]string{
				"workflow.name": "fieldflow-field-x", "workflow.namespace": "fieldflow",
				"workflow.parameters.key": "fields/input/x/fields_2025-06-02.jsonl",
				"status":                  string(tc.status), "duration": "1.500000", "retries": "0",
				"resourcesDuration.cpu": "1", "resourcesDuration.memory": "1",
			}
			if tc.exitCode != "" {
				scope["exitCode"] = tc.exitCode
			}
			for k, v := range tc.outputs {
				scope[k] = v
			}
			for _, a := range checkedInPipeline(t).Assets {
				var counted []string
				for _, m := range processMetrics(a).Prometheus {
					fired, err := emit(m, scope)
					if err != nil {
						t.Errorf("%s: metric %s when %q: %v", a.Name, m.Name, m.When, err)
					}
					if fired != nil && fired.Name == RunsMetric.Name {
						counted = append(counted, label(fired, "result"))
					}
				}
				if !slices.Equal(counted, []string{tc.want}) {
					t.Errorf("%s: counted as %v, want [%s]", a.Name, counted, tc.want)
				}
			}
		})
	}
}

// emit substitutes scope into m and evaluates its condition as Argo's
// controller does (computeMetrics and shouldExecute in
// workflow/controller): the metric as JSON through util/template.Replace,
// unresolved references an error, then the condition through govaluate
// with bare words taken as strings. It returns the metric when it fires.
func emit(m *wfv1.Prometheus, scope map[string]string) (*wfv1.Prometheus, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	replaced, err := template.Replace(string(b), scope, false)
	if err != nil {
		return nil, err
	}
	var out wfv1.Prometheus
	if err := json.Unmarshal([]byte(replaced), &out); err != nil {
		return nil, err
	}
	if out.When == "" {
		return &out, nil
	}
	expr, err := govaluate.NewEvaluableExpression(out.When)
	if err != nil {
		return nil, err
	}
	tokens := expr.Tokens()
	for i := range tokens {
		if tokens[i].Kind == govaluate.VARIABLE {
			tokens[i].Kind = govaluate.STRING
		}
	}
	if expr, err = govaluate.NewEvaluableExpressionFromTokens(tokens); err != nil {
		return nil, err
	}
	v, err := expr.Evaluate(nil)
	if err != nil {
		return nil, err
	}
	fire, ok := v.(bool)
	if !ok {
		return nil, fmt.Errorf("when %q is %v, not a boolean", out.When, v)
	}
	if !fire {
		return nil, nil
	}
	if _, err := strconv.ParseFloat(out.GetValueString(), 64); err != nil {
		return nil, fmt.Errorf("value: %w", err)
	}
	return &out, nil
}

func label(m *wfv1.Prometheus, key string) string {
	for _, l := range m.Labels {
		if l.Key == key {
			return l.Value
		}
	}
	return ""
}

func checkedInPipeline(t *testing.T) *pipeline.Pipeline {
	t.Helper()
	p, err := checkedIn(t).Pipeline()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMetricsResolve emits every metric of every template after a step
// that succeeded and after one that failed, each with its outputs (a
// failed step reports its outputs' defaults: a pod's, Argo puts in; a
// plugin node's, the sidecar replies, see pluginOutputs): neither may
// leave a reference unresolved, which Argo reports as a MetricsError on
// the workflow and drops the metric. A pod that was lost reports no
// outputs at all: its metrics are dropped (see output in metrics.go).
func TestMetricsResolve(t *testing.T) {
	metrics := 0
	for name, wt := range decodeAll(t).templates {
		for _, tmpl := range wt.Spec.Templates {
			if tmpl.Metrics == nil {
				continue
			}
			succeeded := map[string]string{"status": string(wfv1.NodeSucceeded), "duration": "2.000000", "exitCode": "0", "workflow.namespace": "fieldflow"}
			for _, p := range tmpl.Outputs.Parameters {
				succeeded["outputs.parameters."+p.Name] = "1"
			}
			failed := map[string]string{"status": string(wfv1.NodeFailed), "duration": "2.000000", "exitCode": "1", "workflow.namespace": "fieldflow"}
			for _, p := range tmpl.Outputs.Parameters {
				failed["outputs.parameters."+p.Name] = p.ValueFrom.Default.String()
			}
			for _, m := range tmpl.Metrics.Prometheus {
				metrics++
				for scopeName, scope := range map[string]map[string]string{"succeeded": succeeded, "failed": failed} {
					if _, err := emit(m, scope); err != nil {
						t.Errorf("%s/%s: metric %s, %s: %v", name, tmpl.Name, m.Name, scopeName, err)
					}
				}
			}
		}
	}
	if metrics == 0 {
		t.Fatal("no metrics")
	}
}
