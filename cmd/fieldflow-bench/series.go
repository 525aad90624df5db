package main

import "time"

// series is the timings of one way from an upload to its output. Engine
// paths also split each one at the Workflow's creation and say how long the
// engine took to follow uploads.
type series struct {
	name       string
	timings    []timing      // in upload order
	up, ready  time.Duration // engine start to kubeconfig, and to following uploads
	lost       int           // uploads with no output in a minute
	duplicated int           // uploads that made more than one Workflow
}

// timing is one upload to its output; toWorkflow is upload to the
// Workflow's creation (0: not seen), the rest is Argo's controller and the pod.
type timing struct{ total, toWorkflow time.Duration }

// totals is every timing's upload to output.
func (s *series) totals() []time.Duration {
	out := make([]time.Duration, len(s.timings))
	for i, x := range s.timings {
		out[i] = x.total
	}
	return out
}

// split is the two parts of the timings whose Workflow was seen: upload
// to Workflow, and Workflow to output.
func (s *series) split() (toWorkflow, toOutput []time.Duration) {
	for _, x := range s.timings {
		if x.toWorkflow != 0 {
			toWorkflow = append(toWorkflow, x.toWorkflow)
			toOutput = append(toOutput, x.total-x.toWorkflow)
		}
	}
	return toWorkflow, toOutput
}
