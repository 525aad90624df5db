package generator

import (
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/plugin"
	"github.com/fieldflow/fieldflow/processor/rules"
)

// reconcileTemplate lists one page of the ready inputs of every asset, in
// run order (boxes first, then fields by date), and submits a Workflow for
// each: the safety net for notifications that never arrived (MinIO does
// not replay what it sent while no one listened). A backlog larger than a
// page drains over successive runs. Beside that, its status task reports
// the inputs by state as gauges, the backlog among them.
func reconcileTemplate(c Config, p *pipeline.Pipeline) (*wfv1.WorkflowTemplate, error) {
	wt := &wfv1.WorkflowTemplate{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "WorkflowTemplate"},
		ObjectMeta: objectMeta(c, pipeline.ReconcileTemplate, "Reconcile",
			fmt.Sprintf("Lists the inputs that can run now, boxes first, then fields by date, and starts a workflow for each, at most %d a run: catches uploads whose notification was lost and drains a backlog.", c.ReconcileLimit)),
	}
	spec := &wt.Spec
	workflowDefaults(spec)
	spec.Entrypoint = mainTemplate
	spec.Synchronization = &wfv1.Synchronization{Mutexes: []*wfv1.Mutex{{Name: pipeline.ReconcileTemplate}}}
	list, dag := pageTasks(p.Assets, readyTask, "")
	dag = append([]wfv1.DAGTask{list}, dag...)
	templates, err := submitTemplates(p.Assets)
	if err != nil {
		return nil, err
	}
	listT, err := listTemplateFor(c, p.Assets[0], p.Assets)
	if err != nil {
		return nil, err
	}
	statusT, err := statusTemplateFor(p)
	if err != nil {
		return nil, err
	}
	dag = append(dag, wfv1.DAGTask{Name: statusTemplate, Template: statusTemplate})
	spec.Templates = append([]wfv1.Template{{Name: mainTemplate, DAG: &wfv1.DAGTemplate{Tasks: dag}}, listT, statusT}, templates...)
	return wt, nil
}

// readyTask lists the reconcile's page.
const readyTask = "ready"

// statusTemplate counts the inputs by state, on the agent, for the gauges
// on it (see statusMetrics): the only place that sees every input, so the
// only one that can say how many files wait and for how long. It outputs
// one parameter per rules.State and plugin.OutputOldestWaiting.
const statusTemplate = "status"

func statusTemplateFor(p *pipeline.Pipeline) (wfv1.Template, error) {
	var outputs []string
	for _, s := range rules.States {
		outputs = append(outputs, string(s), "0")
	}
	t, err := pluginTemplate(statusTemplate, plugin.Op{Status: &plugin.Status{}}, append(outputs, plugin.OutputOldestWaiting, "0")...)
	if err != nil {
		return wfv1.Template{}, err
	}
	t.RetryStrategy = retry(p.Assets[0].Retry)
	t.Metrics = statusMetrics(p)
	return t, nil
}

// reconcileCron runs the reconcile template on a schedule, never two at once.
func reconcileCron(c Config) *specOnly[cronSpec] {
	return &specOnly[cronSpec]{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "CronWorkflow"},
		ObjectMeta: objectMeta(c, pipeline.ReconcileTemplate, "Reconcile sweep",
			"Runs the reconcile template every few minutes."),
		Spec: cronSpec{
			CronWorkflowSpec: wfv1.CronWorkflowSpec{
				Schedules:                  []string{c.ReconcileSchedule},
				ConcurrencyPolicy:          wfv1.ForbidConcurrent,
				StartingDeadlineSeconds:    ptr(int64(60)),
				SuccessfulJobsHistoryLimit: ptr(int32(3)),
				FailedJobsHistoryLimit:     ptr(int32(3)),
				WorkflowSpec: wfv1.WorkflowSpec{
					WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: pipeline.ReconcileTemplate},
				},
			},
			WorkflowMetadata: &workflowMetadata{Labels: labels()},
		},
	}
}

// cronSpec is Argo's CronWorkflowSpec with its workflowMetadata written
// as Argo's CRD declares it. The upstream field is a metav1.ObjectMeta,
// which marshals `creationTimestamp: null`; the CRD's schema has no such
// field there, so a server-side apply of the generated file was rejected.
type cronSpec struct {
	wfv1.CronWorkflowSpec `json:",inline"`
	WorkflowMetadata      *workflowMetadata `json:"workflowMetadata,omitempty"`
}

// workflowMetadata is what the generator sets of a cron's workflows'
// metadata.
type workflowMetadata struct {
	Labels map[string]string `json:"labels,omitempty"`
}
