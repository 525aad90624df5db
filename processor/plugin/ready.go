package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// ready answers a release or reconcile list: one page of the inputs that
// can run now (all, or those finishing After released), as `fieldflow
// ready` lists it, split by asset kind for each kind's submit task.
func (s *Server) ready(ctx context.Context, op Ready) (answer, error) {
	if op.Limit < 1 {
		// Limit 0 means "all" to `fieldflow ready`: unbounded, it could
		// outgrow what Argo keeps of a parameter.
		return answer{}, processor.Permanent(fmt.Errorf("ready: limit %d: want 1 or more", op.Limit))
	}
	keys, err := s.proc.Ready(ctx, op.After)
	if err != nil {
		return answer{}, err
	}
	pipe := s.proc.Pipeline()
	page, err := pipe.Page(keys, op.Limit)
	if err != nil {
		return answer{}, err
	}
	outputs, counts, err := assetLists(pipe, page)
	if err != nil {
		return answer{}, err
	}
	return answer{message: readyMessage(len(page), len(keys), counts), outputs: outputs}, nil
}

// assetLists is one output per asset kind, named after it, holding the
// JSON array of that kind's keys in the page ([] when none), in run
// order, for withParam; and the number of keys of each kind, "1 box" for
// a message. Together they hold the page, so each is as bounded.
func assetLists(p *pipeline.Pipeline, page []pipeline.Input) ([]parameter, []string, error) {
	var outputs []parameter
	var counts []string
	for _, a := range p.Assets {
		keys := []string{}
		for _, in := range page {
			if in.Asset == a {
				keys = append(keys, in.Key)
			}
		}
		b, err := json.Marshal(keys)
		if err != nil {
			return nil, nil, fmt.Errorf("ready: %w", err)
		}
		outputs = append(outputs, param(a.Name, string(b)))
		if len(keys) > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", len(keys), a.Name))
		}
	}
	return outputs, counts, nil
}

// readyMessage says how many of the ready inputs the page holds: "2
// ready: 1 box, 1 field", "500 of 812 ready: ..." or "nothing ready".
func readyMessage(paged, ready int, counts []string) string {
	if ready == 0 {
		return "nothing ready"
	}
	n := fmt.Sprint(paged)
	if paged < ready {
		n = fmt.Sprintf("%d of %d", paged, ready)
	}
	return n + " ready: " + strings.Join(counts, ", ")
}
