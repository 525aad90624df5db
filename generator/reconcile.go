package generator

import (
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// reconcileTemplate lists every ready input of every asset and submits a
// Workflow for each: the safety net for notifications that never arrived
// (MinIO does not replay what it sent while no one listened).
func reconcileTemplate(c Config, p *pipeline.Pipeline) (*wfv1.WorkflowTemplate, error) {
	wt := &wfv1.WorkflowTemplate{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "WorkflowTemplate"},
		ObjectMeta: objectMeta(c, reconcileName, "Reconcile",
			"Lists every input that can run now and starts a workflow for each: catches uploads whose notification was lost."),
	}
	spec := &wt.Spec
	workflowDefaults(spec)
	spec.Entrypoint = mainTemplate
	spec.Synchronization = &wfv1.Synchronization{Mutexes: []*wfv1.Mutex{{Name: reconcileName}}}
	var dag []wfv1.DAGTask
	var templates []wfv1.Template
	for _, a := range p.Assets {
		list, submit := releaseTasks(a, "ready-"+a.Name, "")
		dag = append(dag, list, submit)
		t, err := submitTemplate(c, a)
		if err != nil {
			return nil, err
		}
		templates = append(templates, t)
	}
	listT, err := listTemplateFor(c, p.Assets[0])
	if err != nil {
		return nil, err
	}
	spec.Templates = append([]wfv1.Template{{Name: mainTemplate, DAG: &wfv1.DAGTemplate{Tasks: dag}}, listT}, templates...)
	return wt, nil
}

// reconcileCron runs the reconcile template on a schedule, never two at once.
func reconcileCron(c Config) *wfv1.CronWorkflow {
	return &wfv1.CronWorkflow{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "CronWorkflow"},
		ObjectMeta: objectMeta(c, reconcileName, "Reconcile sweep",
			"Runs the reconcile template every few minutes."),
		Spec: wfv1.CronWorkflowSpec{
			Schedules:                  []string{c.ReconcileSchedule},
			ConcurrencyPolicy:          wfv1.ForbidConcurrent,
			StartingDeadlineSeconds:    ptr(int64(60)),
			SuccessfulJobsHistoryLimit: ptr(int32(3)),
			FailedJobsHistoryLimit:     ptr(int32(3)),
			WorkflowMetadata:           &metav1.ObjectMeta{Labels: labels()},
			WorkflowSpec: wfv1.WorkflowSpec{
				WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: reconcileName},
			},
		},
	}
}
