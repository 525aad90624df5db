package engine

import (
	"fmt"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/component-base/metrics/legacyregistry"
)

// Cost is what a run asked of the API server, counted by the API server
// itself (apiserver_request_total, in this process): what a file costs a
// cluster beyond its processing.
type Cost struct {
	Pods   int // pods created
	Writes int // write requests: create, update, patch, delete, by anyone
}

// writeVerbs are the request verbs of apiserver_request_total that change
// something.
var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true, "DELETECOLLECTION": true, "APPLY": true}

// apiCost reads the API server's request counters so far.
func apiCost() (Cost, error) {
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		return Cost{}, fmt.Errorf("API server metrics: %w", err)
	}
	var c Cost
	for _, f := range families {
		if f.GetName() != "apiserver_request_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			l := labels(m)
			n := int(m.GetCounter().GetValue())
			if !writeVerbs[l["verb"]] {
				continue
			}
			c.Writes += n
			if l["verb"] == "POST" && l["resource"] == "pods" && l["subresource"] == "" && l["code"] == "201" {
				c.Pods += n
			}
		}
	}
	return c, nil
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

func (c Cost) minus(d Cost) Cost { return Cost{Pods: c.Pods - d.Pods, Writes: c.Writes - d.Writes} }

// Result is what a run did and cost.
type Result struct {
	Phases  map[wfv1.WorkflowPhase]int // this run's workflows by phase
	Inputs  int                        // inputs in the store
	Cost    Cost
	Elapsed time.Duration
}

// FormatCost says what the run cost per input, for the demo's last lines.
func (r Result) FormatCost() string {
	wfs := 0
	for _, n := range r.Phases {
		wfs += n
	}
	per := func(n int) string {
		if r.Inputs == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", float64(n)/float64(r.Inputs))
	}
	return fmt.Sprintf("%d inputs in %s: %s workflows, %s pods, %s API writes per input (%d workflows, %d pods, %d writes)",
		r.Inputs, r.Elapsed.Round(100*time.Millisecond), per(wfs), per(r.Cost.Pods), per(r.Cost.Writes), wfs, r.Cost.Pods, r.Cost.Writes)
}
