package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/argoproj/argo-workflows/v3/pkg/apis/workflow"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// submit creates the Workflow that runs one input, in the submitting
// workflow's namespace. Its name is derived from the submitting workflow
// and the key (WorkflowName), so a submit that runs again finds it made
// and succeeds without a second one.
func (s *Server) submit(ctx context.Context, parent workflowMeta, op Submit) (answer, error) {
	key, err := ItemKey(op.Item)
	if err != nil {
		return answer{}, processor.Permanent(fmt.Errorf("submit: %w", err))
	}
	if err := submittable(s.proc.Pipeline(), op.Template, key); err != nil {
		return answer{}, err
	}
	if parent.UID == "" {
		return answer{}, processor.Permanent(errors.New("submit: the request names no workflow UID to derive the Workflow's name from"))
	}
	ns := parent.Namespace
	if ns == "" {
		if ns, err = s.kube.namespace(); err != nil {
			return answer{}, err
		}
	}
	client, err := s.kube.workflows()
	if err != nil {
		return answer{}, err
	}
	wf := newWorkflow(op, parent.UID, ns, key)
	body, err := json.Marshal(wf)
	if err != nil {
		return answer{}, fmt.Errorf("submit: %w", err)
	}
	// A body given as bytes gets no Content-Type of client-go's own.
	err = client.Post().Namespace(ns).Resource(workflow.WorkflowPlural).
		SetHeader("Content-Type", runtime.ContentTypeJSON).Body(body).Do(ctx).Error()
	done := answer{message: "submitted " + wf.Name, outputs: []parameter{param(OutputWorkflow, wf.Name)}}
	switch {
	case err == nil:
		return done, nil
	case apierrors.IsAlreadyExists(err):
		done.message = fmt.Sprintf("workflow %s exists: submitted before", wf.Name)
		return done, nil
	default:
		return answer{}, createError(ns, wf.Name, err)
	}
}

// submittable refuses what no template of the pipeline asks: a key that
// is no input, and a template that is not the one of the key's asset (the
// reconcile's, or another asset's).
func submittable(p *pipeline.Pipeline, template, key string) error {
	in, err := p.Parse(key)
	if err != nil {
		return processor.Permanent(fmt.Errorf("submit %q: %w", key, err))
	}
	if template == in.Asset.TemplateName() {
		return nil
	}
	var names []string
	for _, a := range p.Assets {
		names = append(names, a.TemplateName())
	}
	if slices.Contains(names, template) {
		return processor.Permanent(fmt.Errorf("submit %q: template %s does not run %s inputs (%s does)", key, template, in.Asset.Name, in.Asset.TemplateName()))
	}
	return processor.Permanent(fmt.Errorf("submit %q: %q is no asset template of the pipeline (%v)", key, template, names))
}

// newWorkflow is the Workflow of op's template for key, named for the
// submitting workflow parent.
func newWorkflow(op Submit, parent, namespace, key string) *workflowObject {
	wf := &workflowObject{
		TypeMeta: workflowType,
		ObjectMeta: metav1.ObjectMeta{
			Name:      WorkflowName(op.Template, parent, key),
			Namespace: namespace,
			Labels:    op.Labels,
		},
	}
	wf.Spec.WorkflowTemplateRef.Name = op.Template
	wf.Spec.Arguments.Parameters = []parameter{{Name: pipeline.KeyParam, Value: key}}
	return wf
}

// createError says why the API refused a Workflow. A refusal the same
// request meets again (invalid, forbidden, no such namespace or resource)
// is permanent; a timeout, throttling, an unavailable server or a token
// being rotated is worth retrying.
func createError(ns, name string, err error) error {
	err = fmt.Errorf("create workflow %s/%s: %w", ns, name, err)
	switch {
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsForbidden(err), apierrors.IsNotFound(err),
		apierrors.IsMethodNotSupported(err), apierrors.IsNotAcceptable(err), apierrors.IsUnsupportedMediaType(err),
		apierrors.IsRequestEntityTooLargeError(err):
		return processor.Permanent(err)
	}
	return err
}
