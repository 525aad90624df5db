package processor

import (
	"errors"
	"reflect"
	"testing"

	"github.com/fieldflow/fieldflow/processor/rules"
)

func TestOneCheck(t *testing.T) {
	waiting := rules.Verdict{Key: "k", Asset: "field", State: rules.Waiting, Reason: "waiting for box b; waiting for earlier", Checks: []rules.Check{
		{Name: "box-done", OK: false, Reason: "waiting for box b"},
		{Name: "start-date", OK: true, Reason: "dated 2025-06-03"},
	}}
	done := rules.Verdict{Key: "k", Asset: "field", State: rules.Done, Reason: "output o"}
	for _, tc := range []struct {
		name  string
		v     rules.Verdict
		check string
		want  rules.Verdict
		err   bool
	}{
		{"failing check", waiting, "box-done", rules.Verdict{Key: "k", Asset: "field", State: rules.Waiting, Reason: "waiting for box b", Checks: waiting.Checks[:1]}, false},
		{"holding check", waiting, "start-date", rules.Verdict{Key: "k", Asset: "field", State: rules.Waiting, Ready: true, Reason: "dated 2025-06-03", Checks: waiting.Checks[1:]}, false},
		{"done input", done, "box-done", rules.Verdict{Key: "k", Asset: "field", State: rules.Done, Reason: "done, nothing to run: output o"}, false},
		{"no such check", waiting, "nope", waiting, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := OneCheck(tc.v, tc.check)
			if (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrPermanent)) {
				t.Fatalf("err = %v, want a permanent error: %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
