package plugin

import (
	"context"
	"errors"
	"strconv"

	"github.com/fieldflow/fieldflow/processor"
)

// check answers one check task: the workflow's verdict on the key,
// narrowed to the named check as `fieldflow check --check` narrows it.
func (s *Server) check(ctx context.Context, workflow string, c Check) (answer, error) {
	if c.Key == "" || c.Name == "" {
		return answer{}, processor.Permanent(errors.New("check: want a key and a check name"))
	}
	v, err := s.verdicts.get(ctx, workflow, c.Key)
	if err != nil {
		return answer{}, err
	}
	one, err := processor.OneCheck(v, c.Name)
	if err != nil {
		return answer{}, err
	}
	return answer{message: one.Reason, outputs: []parameter{
		param(OutputReady, strconv.FormatBool(one.Ready)),
		param(OutputReason, one.Reason),
		param(OutputState, string(one.State)),
	}}, nil
}

// verdict answers the not-ready task: the whole verdict, which says why
// the input does not run (waiting, out of range, ...).
func (s *Server) verdict(ctx context.Context, workflow string, op Verdict) (answer, error) {
	if op.Key == "" {
		return answer{}, processor.Permanent(errors.New("verdict: want a key"))
	}
	v, err := s.verdicts.get(ctx, workflow, op.Key)
	if err != nil {
		return answer{}, err
	}
	return answer{message: v.Reason, outputs: []parameter{
		param(OutputState, string(v.State)),
		param(OutputReason, v.Reason),
	}}, nil
}
