// Package sensor does what a generated Sensor does with an event, with
// Argo Events' own code: the dependency's transform, its filters, then the
// trigger's parameters on its resource. The local engine uses it to create
// Workflows from store notifications, and the generator's tests use it to
// prove the rendered Sensors on real notifications.
package sensor

import (
	"encoding/json"
	"fmt"
	"time"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	"github.com/argoproj/argo-events/pkg/sensors/dependencies"
	"github.com/argoproj/argo-events/pkg/sensors/triggers"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Workflows returns the Workflows s creates for one event that its event
// source published under eventName with data as payload.
func Workflows(s *ev.Sensor, eventName string, data []byte) ([]*wfv1.Workflow, error) {
	var out []*wfv1.Workflow
	for _, dep := range s.Spec.Dependencies {
		if dep.EventName != eventName {
			continue
		}
		event, err := transform(s, dep, eventName, data)
		if err != nil {
			return nil, err
		}
		// A filter error means a path the event lacks: Argo Events drops
		// such events, and so does this.
		if pass, _ := dependencies.Filter(event, dep.Filters, dep.FiltersLogicalOperator); !pass {
			continue
		}
		for _, tr := range s.Spec.Triggers {
			if tr.Template == nil || tr.Template.Conditions != dep.Name || tr.Template.K8s == nil {
				continue
			}
			wf, err := resource(tr, dep.Name, event)
			if err != nil {
				return nil, err
			}
			out = append(out, wf)
		}
	}
	return out, nil
}

func transform(s *ev.Sensor, dep ev.EventDependency, eventName string, data []byte) (*ev.Event, error) {
	ce := cloudevents.NewEvent()
	ce.SetID(fmt.Sprint(time.Now().UnixNano()))
	ce.SetSource(dep.EventSourceName)
	ce.SetType(s.Name)
	ce.SetSubject(eventName)
	ce.SetTime(time.Now())
	if err := ce.SetData(cloudevents.ApplicationJSON, data); err != nil {
		return nil, err
	}
	out, err := dependencies.ApplyTransform(&ce, dep.Transform)
	if err != nil {
		return nil, fmt.Errorf("dependency %s: transform: %w", dep.Name, err)
	}
	return &ev.Event{
		Context: &ev.EventContext{
			ID: ce.ID(), Source: dep.EventSourceName, Type: s.Name, Subject: eventName,
			DataContentType: cloudevents.ApplicationJSON, SpecVersion: "1.0", Time: metav1.NewTime(ce.Time()),
		},
		Data: out.Data(),
	}, nil
}

func resource(tr ev.Trigger, depName string, event *ev.Event) (*wfv1.Workflow, error) {
	src := tr.Template.K8s.Source
	if src == nil || src.Resource == nil {
		return nil, fmt.Errorf("trigger %s has no inline resource", tr.Template.Name)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(src.Resource.Value); err != nil {
		return nil, fmt.Errorf("trigger %s: %w", tr.Template.Name, err)
	}
	if err := triggers.ApplyResourceParameters(map[string]*ev.Event{depName: event}, tr.Template.K8s.Parameters, obj); err != nil {
		return nil, fmt.Errorf("trigger %s: %w", tr.Template.Name, err)
	}
	b, err := obj.MarshalJSON()
	if err != nil {
		return nil, err
	}
	wf := &wfv1.Workflow{}
	if err := json.Unmarshal(b, wf); err != nil {
		return nil, fmt.Errorf("trigger %s: not a Workflow: %w", tr.Template.Name, err)
	}
	return wf, nil
}
