package plugin

import (
	"context"
	"maps"
	"strconv"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/rules"
	"github.com/fieldflow/fieldflow/processor/sample"
	"github.com/fieldflow/fieldflow/processor/store/local"
)

// TestStatusSample counts the sample the README's demo makes as
// `fieldflow status` counts it: one output per state, and the message is
// its summary line.
func TestStatusSample(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := pipeline.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	opt := sample.Defaults()
	opt.Faults = true
	if _, err := sample.Write(ctx, st, pipe, opt); err != nil {
		t.Fatal(err)
	}
	p := processor.New(st, pipe, nil)
	s, err := New(p, Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Hour)
	s.now = func() time.Time { return now }

	n := execute(t, s, opArgs(t, Op{Status: &Status{}}))
	vs, err := p.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := processor.Count(vs, now)
	want := map[string]string{OutputOldestWaiting: strconv.FormatInt(int64(c.OldestWaiting/time.Second), 10)}
	for _, s := range rules.States {
		want[string(s)] = strconv.Itoa(c.ByState[s])
	}
	if n.Phase != wfv1.NodeSucceeded || n.Message != c.String() || !maps.Equal(params(n), want) {
		t.Errorf("%s %q %v\nwant %q %v", n.Phase, n.Message, params(n), c.String(), want)
	}
	if c.ByState[rules.Waiting] == 0 || c.OldestWaiting < time.Hour {
		t.Errorf("the sample has no input waiting for an hour: %v", c)
	}
}
