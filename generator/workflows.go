package generator

import (
	"fmt"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/plugin"
	"github.com/fieldflow/fieldflow/processor/rules"
)

// Template and task names inside the rendered WorkflowTemplates.
const (
	mainTemplate     = "main"
	checkTemplate    = "check"
	notReadyTemplate = "not-ready"
	processTemplate  = "process"
	listTemplate     = "list-ready"
	releaseTask      = "release"
)

// stateOutput is the output parameter of process that holds the input's
// state (rules.State) as the step left it; the plugin's nodes name theirs
// plugin.OutputState.
const stateOutput = "state"

// keyRef is how steps refer to the input key.
const keyRef = "{{workflow.parameters." + keyParam + "}}"

// RetryExpression is every step's retry condition: retry any failure but
// ExitPermanent, which retrying cannot help (invalid input, out of range,
// no such input). A retryable error (ExitRetry), a crash (ExitCrash), an
// OOM kill (137) and a pod lost with no exit code all retry, up to the
// limit. A plugin node has no pod: the sidecar fails it with
// outputs.exitCode ExitPermanent or ExitRetry alike, and a node the agent
// could not run (its pod lost, the sidecar unreachable) has none, so the
// same condition holds for them.
//
// Argo's lastRetry.exitCode is a string, and "-1" when the pod ended
// without one (deleted, evicted, its node gone): see
// buildRetryStrategyLocalScope in argo-workflows'
// workflow/controller/operator.go. So it is compared as a string: asInt
// would turn a malformed value into an evaluation error instead of a retry.
var RetryExpression = fmt.Sprintf("lastRetry.exitCode != %q", strconv.Itoa(pipeline.ExitPermanent))

// assetTemplate renders the WorkflowTemplate that runs one input of a.
//
// Its DAG has one task per dependency check, each showing in the UI whether
// it holds and why; process runs only when all hold, not-ready reports the
// state (waiting, out of range) otherwise, and the workflow succeeds either
// way. After a successful process, the release task lists one page of
// what finishing this input made ready, and a submit task per asset kind
// that may have waited for it creates a Workflow for each of its keys.
// What does not fit in the page is left to the reconcile sweep.
func assetTemplate(c Config, p *pipeline.Pipeline, a *pipeline.Asset) (*wfv1.WorkflowTemplate, error) {
	wt := &wfv1.WorkflowTemplate{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "WorkflowTemplate"},
		ObjectMeta: objectMeta(c, a.TemplateName(), a.Title, a.Description),
	}
	spec := &wt.Spec
	workflowDefaults(spec)
	spec.Entrypoint = mainTemplate
	spec.Arguments.Parameters = []wfv1.Parameter{{
		Name:        keyParam,
		Description: wfv1.AnyStringPtr(fmt.Sprintf("Object key of the %s input, e.g. %s/%s", strings.ToLower(a.Title), a.InputPrefix, example(a))),
	}}
	spec.Synchronization = &wfv1.Synchronization{Mutexes: []*wfv1.Mutex{{
		// One run of a key at a time. The key is hashed: mutex names are
		// parsed as namespace/kind/name and keys may hold any character.
		Name: "fieldflow-{{=sprig.sha1sum(workflow.parameters." + keyParam + ")}}",
	}}}

	var dag []wfv1.DAGTask
	var holds, fails, deps []string
	for _, chk := range a.Checks {
		dag = append(dag, wfv1.DAGTask{
			Name:      chk.Name,
			Template:  checkTemplate,
			Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{{Name: "check", Value: wfv1.AnyStringPtr(chk.Name)}}},
		})
		deps = append(deps, chk.Name+".Succeeded")
		holds = append(holds, checkReady(chk, "=="))
		fails = append(fails, checkReady(chk, "!="))
	}
	process := wfv1.DAGTask{Name: processTemplate, Template: processTemplate}
	if len(a.Checks) > 0 {
		process.Depends = strings.Join(deps, " && ")
		process.When = strings.Join(holds, " && ")
		dag = append(dag, wfv1.DAGTask{
			Name:     notReadyTemplate,
			Template: notReadyTemplate,
			Depends:  process.Depends,
			When:     strings.Join(fails, " || "),
		})
	}
	dag = append(dag, process)

	released := p.Releases(a)
	var templates []wfv1.Template
	if len(released) > 0 {
		list, submits := pageTasks(released, releaseTask, keyRef)
		list.Depends = processTemplate + ".Succeeded"
		dag = append(append(dag, list), submits...)
		var err error
		if templates, err = submitTemplates(released); err != nil {
			return nil, err
		}
	}

	main := wfv1.Template{Name: mainTemplate, DAG: &wfv1.DAGTemplate{Tasks: dag}}
	procT, err := processTemplateFor(c, a)
	if err != nil {
		return nil, err
	}
	spec.Templates = append([]wfv1.Template{main, procT}, templates...)
	if len(a.Checks) > 0 {
		checkT, err := checkTemplateFor(a)
		if err != nil {
			return nil, err
		}
		notReadyT, err := notReadyTemplateFor(a)
		if err != nil {
			return nil, err
		}
		spec.Templates = append(spec.Templates, checkT, notReadyT)
	}
	if len(released) > 0 {
		listT, err := listTemplateFor(c, a, released)
		if err != nil {
			return nil, err
		}
		spec.Templates = append(spec.Templates, listT)
	}
	return wt, nil
}

// checkReady compares chk's ready output with true by op (== or !=), as a
// DAG task's when.
func checkReady(chk pipeline.Check, op string) string {
	return fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}} %s true", chk.Name, plugin.OutputReady, op)
}

// pageTasks lists one page of ready inputs (those the input after
// released, or all when after is empty) and, for each asset kind in
// assets, submits a Workflow per key of that kind in the page. The page
// goes from one task to the next through output parameters, one per
// asset kind, together never more than pipeline.PageBytes: Argo cuts a
// step's output past 256 kB.
func pageTasks(assets []*pipeline.Asset, listName, after string) (list wfv1.DAGTask, submits []wfv1.DAGTask) {
	list = wfv1.DAGTask{
		Name:      listName,
		Template:  listTemplate,
		Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{{Name: "after", Value: wfv1.AnyStringPtr(after)}}},
	}
	for _, a := range assets {
		submits = append(submits, wfv1.DAGTask{
			Name:      submitName(a),
			Template:  submitName(a),
			Depends:   listName + ".Succeeded",
			WithParam: "{{tasks." + listName + ".outputs.parameters." + a.Name + "}}",
			Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{
				{Name: keyParam, Value: wfv1.AnyStringPtr("{{item}}")},
			}},
		})
	}
	return list, submits
}

func submitName(a *pipeline.Asset) string { return "submit-" + a.Name }

// checkTemplateFor judges one dependency check of the input, named by
// the task's check argument, on the agent: the task shows in the UI whether
// the check holds (ready), why (reason, also the node's message) and the
// input's state.
func checkTemplateFor(a *pipeline.Asset) (wfv1.Template, error) {
	t, err := pluginTemplate(checkTemplate,
		plugin.Op{Check: &plugin.Check{Key: keyRef, Name: "{{inputs.parameters.check}}"}},
		plugin.OutputReady, "false", plugin.OutputReason, "", plugin.OutputState, "")
	if err != nil {
		return wfv1.Template{}, err
	}
	t.Inputs = wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: "check"}}}
	t.RetryStrategy = retry(a.Retry)
	return t, nil
}

// notReadyTemplateFor reports, on the agent, the state of an input whose
// checks did not all hold (waiting, out of range) and counts the run.
func notReadyTemplateFor(a *pipeline.Asset) (wfv1.Template, error) {
	t, err := pluginTemplate(notReadyTemplate, plugin.Op{Verdict: &plugin.Verdict{Key: keyRef}},
		plugin.OutputState, "", plugin.OutputReason, "")
	if err != nil {
		return wfv1.Template{}, err
	}
	t.RetryStrategy = retry(a.Retry)
	t.Metrics = notReadyMetrics(a)
	return t, nil
}

func processTemplateFor(c Config, a *pipeline.Asset) (wfv1.Template, error) {
	ctr, err := container(c, a.Profile, "process", "--key", keyRef, "--outputs", outputsDir)
	if err != nil {
		return wfv1.Template{}, err
	}
	return wfv1.Template{
		Name: processTemplate,
		Outputs: wfv1.Outputs{Parameters: outputParams(
			stateOutput, string(rules.Failed), "records", "0", "bytes", "0", "seconds", "0", "output_key", "", "reason", "")},
		Container:     ctr,
		NodeSelector:  nodeSelector(c, a.Profile),
		RetryStrategy: retry(a.Retry),
		Metrics:       processMetrics(a),
	}, nil
}

// listTemplateFor lists, on the agent, one page of ready inputs: all of
// them, or those released by the input named in "after"; at most
// c.ReconcileLimit, in run order (pipeline.Page). Each asset kind of listed
// gets its share of the page as an output parameter named after it, a JSON
// array for withParam. It retries as a does.
func listTemplateFor(c Config, a *pipeline.Asset, listed []*pipeline.Asset) (wfv1.Template, error) {
	if c.ReconcileLimit < 1 { // 0 would be no bound at all
		return wfv1.Template{}, fmt.Errorf("reconcileLimit %d: want at least 1", c.ReconcileLimit)
	}
	var outputs []string
	for _, l := range listed {
		outputs = append(outputs, l.Name, "[]")
	}
	t, err := pluginTemplate(listTemplate,
		plugin.Op{Ready: &plugin.Ready{After: "{{inputs.parameters.after}}", Limit: c.ReconcileLimit}}, outputs...)
	if err != nil {
		return wfv1.Template{}, err
	}
	t.Inputs = wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: "after", Default: wfv1.AnyStringPtr("")}}}
	t.RetryStrategy = retry(a.Retry)
	return t, nil
}

// outputParams declares output parameters read from the --outputs folder,
// each with a default so a failed run still reports.
func outputParams(nameDefault ...string) []wfv1.Parameter {
	var out []wfv1.Parameter
	for i := 0; i+1 < len(nameDefault); i += 2 {
		out = append(out, wfv1.Parameter{
			Name:      nameDefault[i],
			ValueFrom: &wfv1.ValueFrom{Path: outputsDir + "/" + nameDefault[i], Default: wfv1.AnyStringPtr(nameDefault[i+1])},
		})
	}
	return out
}

func retry(r pipeline.Retry) *wfv1.RetryStrategy {
	return &wfv1.RetryStrategy{
		Limit:       ptr(intstr.FromInt32(int32(r.Attempts - 1))), // the first run is not a retry
		RetryPolicy: wfv1.RetryPolicyAlways,
		Expression:  RetryExpression,
		Backoff: &wfv1.Backoff{
			Duration: r.Backoff.String(),
			Factor:   ptr(intstr.FromInt32(int32(r.Factor))),
			Cap:      r.MaxBackoff.String(),
		},
	}
}

// submitTemplates are the submit templates of assets, in order.
func submitTemplates(assets []*pipeline.Asset) ([]wfv1.Template, error) {
	var out []wfv1.Template
	for _, a := range assets {
		t, err := submitTemplate(a)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// submitTemplate creates, on the agent, one Workflow of a's template for
// the key it gets. The key arrives as a withParam item of a list output,
// and is handed on as Argo made it (see plugin.Submit): a submit template
// is for list items only. The sidecar names the Workflow after the
// submitting workflow and the key, so a retry finds the one it made; it
// retries as a does.
func submitTemplate(a *pipeline.Asset) (wfv1.Template, error) {
	t, err := pluginTemplate(submitName(a),
		plugin.Op{Submit: &plugin.Submit{Template: a.TemplateName(), Item: "{{inputs.parameters." + keyParam + "}}", Labels: labels()}},
		plugin.OutputWorkflow, "")
	if err != nil {
		return wfv1.Template{}, err
	}
	t.Inputs = wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: keyParam}}}
	t.RetryStrategy = retry(a.Retry)
	return t, nil
}

// newWorkflow is a Workflow that runs a's template on key, as the sensors
// create them.
func newWorkflow(c Config, a *pipeline.Asset, key string) *specOnly[wfv1.WorkflowSpec] {
	return &specOnly[wfv1.WorkflowSpec]{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: a.TemplateName() + "-",
			Namespace:    c.Namespace,
			Labels:       labels(),
		},
		Spec: wfv1.WorkflowSpec{
			WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: a.TemplateName()},
			Arguments:           wfv1.Arguments{Parameters: []wfv1.Parameter{{Name: keyParam, Value: wfv1.AnyStringPtr(key)}}},
		},
	}
}

func example(a *pipeline.Asset) string {
	name, err := a.Pattern.Build(map[string]string{"box": "01976dbcbdb77dc4b9b61ba545503b77", "date": "2025-06-02", "suffix": ""})
	if err != nil {
		return a.Pattern.String()
	}
	return name
}
