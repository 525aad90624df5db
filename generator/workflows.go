package generator

import (
	"encoding/json"
	"fmt"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// Template and task names inside the rendered WorkflowTemplates.
const (
	mainTemplate     = "main"
	checkTemplate    = "check"
	notReadyTemplate = "not-ready"
	processTemplate  = "process"
	listTemplate     = "list-ready"
	reconcileName    = "fieldflow-reconcile"
)

// keyRef is how steps refer to the input key.
const keyRef = "{{workflow.parameters." + keyParam + "}}"

// retryOnExit1 retries only what fieldflow says is worth retrying: exit
// code 1. Exit code 2 (invalid input, out of range) fails at once.
const retryOnExit1 = `asInt(lastRetry.exitCode) == 1`

// assetTemplate renders the WorkflowTemplate that runs one input of a.
//
// Its DAG has one task per dependency check, each showing in the UI whether
// it holds and why; process runs only when all hold, not-ready reports the
// state (waiting, out of range) otherwise, and the workflow succeeds either
// way. After a successful process, a release task per asset kind that may
// have waited for this one lists what is now ready and submits a Workflow
// for each.
func assetTemplate(c Config, p *pipeline.Pipeline, a *pipeline.Asset) (*wfv1.WorkflowTemplate, error) {
	wt := &wfv1.WorkflowTemplate{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "WorkflowTemplate"},
		ObjectMeta: objectMeta(c, templateName(a), a.Title, a.Description),
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
	var conds, deps []string
	for _, chk := range a.Checks {
		dag = append(dag, wfv1.DAGTask{
			Name:      chk.Name,
			Template:  checkTemplate,
			Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{{Name: "check", Value: wfv1.AnyStringPtr(chk.Name)}}},
		})
		deps = append(deps, chk.Name+".Succeeded")
		conds = append(conds, fmt.Sprintf("{{tasks.%s.outputs.parameters.ready}} == true", chk.Name))
	}
	process := wfv1.DAGTask{Name: processTemplate, Template: processTemplate}
	if len(a.Checks) > 0 {
		process.Depends = strings.Join(deps, " && ")
		process.When = strings.Join(conds, " && ")
		var notConds []string
		for _, cond := range conds {
			notConds = append(notConds, strings.Replace(cond, "== true", "!= true", 1))
		}
		dag = append(dag, wfv1.DAGTask{
			Name:     notReadyTemplate,
			Template: notReadyTemplate,
			Depends:  process.Depends,
			When:     strings.Join(notConds, " || "),
		})
	}
	dag = append(dag, process)

	templates := []wfv1.Template{}
	for _, released := range p.Releases(a) {
		list, submit := releaseTasks(released, "release-"+released.Name, keyRef)
		list.Depends = processTemplate + ".Succeeded"
		dag = append(dag, list, submit)
		t, err := submitTemplate(c, released)
		if err != nil {
			return nil, err
		}
		templates = append(templates, t)
	}

	main := wfv1.Template{Name: mainTemplate, DAG: &wfv1.DAGTemplate{Tasks: dag}}
	procT, err := processTemplateFor(c, a)
	if err != nil {
		return nil, err
	}
	spec.Templates = append([]wfv1.Template{main, procT}, templates...)
	if len(a.Checks) > 0 {
		checkT, err := checkTemplateFor(c, a)
		if err != nil {
			return nil, err
		}
		notReadyT, err := notReadyTemplateFor(c, a)
		if err != nil {
			return nil, err
		}
		spec.Templates = append(spec.Templates, checkT, notReadyT)
	}
	listT, err := listTemplateFor(c, a)
	if err != nil {
		return nil, err
	}
	if len(p.Releases(a)) > 0 {
		spec.Templates = append(spec.Templates, listT)
	}
	return wt, nil
}

// releaseTasks lists the ready inputs of asset released (those the input
// after released, or all when after is empty) and submits a Workflow for each.
func releaseTasks(released *pipeline.Asset, listName, after string) (list, submit wfv1.DAGTask) {
	list = wfv1.DAGTask{
		Name:     listName,
		Template: listTemplate,
		Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{
			{Name: "asset", Value: wfv1.AnyStringPtr(released.Name)},
			{Name: "after", Value: wfv1.AnyStringPtr(after)},
		}},
	}
	submit = wfv1.DAGTask{
		Name:      "submit-" + released.Name,
		Template:  "submit-" + released.Name,
		Depends:   listName + ".Succeeded",
		WithParam: "{{tasks." + listName + ".outputs.result}}",
		Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{
			{Name: keyParam, Value: wfv1.AnyStringPtr("{{item}}")},
		}},
	}
	return list, submit
}

func checkTemplateFor(c Config, a *pipeline.Asset) (wfv1.Template, error) {
	ctr, err := container(c, lightProfile(a), "check", "--key", keyRef, "--check", "{{inputs.parameters.check}}", "--outputs", outputsDir)
	if err != nil {
		return wfv1.Template{}, err
	}
	return wfv1.Template{
		Name:          checkTemplate,
		Inputs:        wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: "check"}}},
		Outputs:       wfv1.Outputs{Parameters: outputParams("ready", "false", "reason", "", "state", "")},
		Container:     ctr,
		RetryStrategy: retry(a.Retry),
	}, nil
}

func notReadyTemplateFor(c Config, a *pipeline.Asset) (wfv1.Template, error) {
	ctr, err := container(c, lightProfile(a), "check", "--key", keyRef, "--outputs", outputsDir)
	if err != nil {
		return wfv1.Template{}, err
	}
	return wfv1.Template{
		Name:          notReadyTemplate,
		Outputs:       wfv1.Outputs{Parameters: outputParams("state", "", "reason", "")},
		Container:     ctr,
		RetryStrategy: retry(a.Retry),
		Metrics:       notReadyMetrics(a),
	}, nil
}

func processTemplateFor(c Config, a *pipeline.Asset) (wfv1.Template, error) {
	ctr, err := container(c, a.Profile, "process", "--key", keyRef, "--outputs", outputsDir)
	if err != nil {
		return wfv1.Template{}, err
	}
	return wfv1.Template{
		Name: processTemplate,
		Outputs: wfv1.Outputs{Parameters: outputParams(
			"state", "failed", "records", "0", "bytes", "0", "seconds", "0", "output_key", "", "reason", "")},
		Container:     ctr,
		NodeSelector:  nodeSelector(c, a.Profile),
		RetryStrategy: retry(a.Retry),
		Metrics:       processMetrics(a),
	}, nil
}

// listTemplateFor prints the ready keys of one asset kind as a JSON array,
// all of them or those released by the input named in "after"; Argo reads
// it as the step's result.
func listTemplateFor(c Config, a *pipeline.Asset) (wfv1.Template, error) {
	ctr, err := container(c, lightProfile(a), "ready", "--asset", "{{inputs.parameters.asset}}", "--after", "{{inputs.parameters.after}}")
	if err != nil {
		return wfv1.Template{}, err
	}
	return wfv1.Template{
		Name:          listTemplate,
		Inputs:        wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: "asset"}, {Name: "after", Default: wfv1.AnyStringPtr("")}}},
		Container:     ctr,
		RetryStrategy: retry(a.Retry),
	}, nil
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

// lightProfile is for the small steps (checks, listings): no GPU, little
// memory, whatever the asset's processing needs.
func lightProfile(a *pipeline.Asset) pipeline.Profile {
	return pipeline.Profile{CPURequest: "50m", CPULimit: "500m", MemoryRequest: "32Mi", MemoryLimit: "128Mi", Precision: a.Profile.Precision}
}

func retry(r pipeline.Retry) *wfv1.RetryStrategy {
	return &wfv1.RetryStrategy{
		Limit:       ptr(intstr.FromInt32(int32(r.Attempts - 1))), // the first run is not a retry
		RetryPolicy: wfv1.RetryPolicyAlways,
		Expression:  retryOnExit1,
		Backoff: &wfv1.Backoff{
			Duration: r.Backoff.String(),
			Factor:   ptr(intstr.FromInt32(int32(r.Factor))),
			Cap:      r.MaxBackoff.String(),
		},
	}
}

// submitTemplate creates one Workflow of a's template for the key it gets.
func submitTemplate(c Config, a *pipeline.Asset) (wfv1.Template, error) {
	manifest, err := workflowManifest(c, a, "{{=toJson(inputs.parameters."+keyParam+")}}")
	if err != nil {
		return wfv1.Template{}, err
	}
	return wfv1.Template{
		Name:     "submit-" + a.Name,
		Inputs:   wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: keyParam}}},
		Resource: &wfv1.ResourceTemplate{Action: "create", Manifest: manifest},
	}, nil
}

// workflowManifest is the JSON of a Workflow that runs a's template on the
// key that keyJSON evaluates to, as JSON. The key goes in as a JSON value
// made by Argo's toJson, so no character of a key can break the manifest.
func workflowManifest(c Config, a *pipeline.Asset, keyJSON string) (string, error) {
	wf := newWorkflow(c, a, "")
	b, err := json.Marshal(wf)
	if err != nil {
		return "", err
	}
	const placeholder = `"value":""`
	if strings.Count(string(b), placeholder) != 1 {
		return "", fmt.Errorf("workflow manifest: want one empty parameter value in %s", b)
	}
	return strings.Replace(string(b), placeholder, `"value":`+keyJSON, 1), nil
}

// newWorkflow is a Workflow that runs a's template on key; the sensors and
// the release steps create these.
func newWorkflow(c Config, a *pipeline.Asset, key string) *wfv1.Workflow {
	return &wfv1.Workflow{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: templateName(a) + "-",
			Namespace:    c.Namespace,
			Labels:       labels(),
		},
		Spec: wfv1.WorkflowSpec{
			WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: templateName(a)},
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
