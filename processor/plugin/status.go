package plugin

import (
	"context"
	"strconv"
	"time"

	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/rules"
)

// status answers the reconcile's status task: the number of inputs in
// each state, zeros too, so that every gauge gets a value, and how long
// the oldest waiting input has waited, as `fieldflow status` counts them.
func (s *Server) status(ctx context.Context) (answer, error) {
	vs, err := s.proc.Status(ctx)
	if err != nil {
		return answer{}, err
	}
	c := processor.Count(vs, s.now())
	outputs := make([]parameter, 0, len(rules.States)+1)
	for _, st := range rules.States {
		outputs = append(outputs, param(string(st), strconv.Itoa(c.ByState[st])))
	}
	outputs = append(outputs, param(OutputOldestWaiting, strconv.FormatInt(int64(c.OldestWaiting/time.Second), 10)))
	return answer{message: c.String(), outputs: outputs}, nil
}
