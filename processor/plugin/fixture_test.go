package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	executorplugins "github.com/argoproj/argo-workflows/v3/pkg/plugins/executor"

	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/store"
	"github.com/fieldflow/fieldflow/processor/store/local"
)

const (
	token = "agent-token"
	uid   = "5c0ffee0-0000-4000-8000-000000000001"
	ns    = "fieldflow"
	boxA  = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	boxB  = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// Inputs of the fixture store, and what they are.
var (
	boxDone      = "boxes/input/bounding_box_" + boxA + ".jsonl"       // done
	boxReady     = "boxes/input/bounding_box_" + boxB + ".jsonl"       // ready
	fieldReady   = "fields/input/" + boxA + "/fields_2025-06-02.jsonl" // released by boxDone
	fieldWaiting = "fields/input/" + boxB + "/fields_2025-06-03.jsonl" // waits for boxReady
	fieldEarly   = "fields/input/" + boxA + "/fields_2025-06-01.jsonl" // out of range
)

func record(box string) string {
	return `{"box_id": "` + box + `", "coordinates_x_min": 0, "coordinates_y_min": 0, "coordinates_x_max": 2, "coordinates_y_max": 1, "irrigation_array": [[1, 0]], "is_processed": false}` + "\n"
}

// faulty is a store whose listings fail while failing is set, and that
// counts them.
type faulty struct {
	store.Store
	failing atomic.Bool
	lists   atomic.Int64
}

var errOutage = errors.New("store unreachable")

func (f *faulty) List(ctx context.Context, prefix string) iter.Seq2[store.Info, error] {
	f.lists.Add(1)
	if f.failing.Load() {
		return func(yield func(store.Info, error) bool) { yield(store.Info{}, errOutage) }
	}
	return f.Store.List(ctx, prefix)
}

// fixture is a server on a folder holding the inputs above, boxDone
// processed.
func fixture(t *testing.T) (*Server, *faulty) {
	t.Helper()
	dir, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := &faulty{Store: dir}
	pipe, err := pipeline.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for key, box := range map[string]string{boxDone: boxA, boxReady: boxB, fieldReady: boxA, fieldWaiting: boxB, fieldEarly: boxA} {
		if err := st.Put(ctx, key, strings.NewReader(record(box)), nil); err != nil {
			t.Fatal(err)
		}
	}
	p := processor.New(st, pipe, nil)
	if _, err := p.Process(ctx, boxDone); err != nil {
		t.Fatal(err)
	}
	s, err := New(p, Options{Token: token, ServiceAccountDir: t.TempDir(), Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

// args is what Argo's agent sends for a template whose plugin field is
// plugins, made from Argo's own types.
func args(t *testing.T, plugins string) executorplugins.ExecuteTemplateArgs {
	t.Helper()
	var tmpl wfv1.Template
	// A template as the controller hands it to the agent: inputs
	// substituted, a retry strategy, and the plugin field.
	const template = `{"name": "node", "inputs": {"parameters": [{"name": "key", "value": "k"}]}, "metadata": {},
		"retryStrategy": {"limit": 3, "expression": "lastRetry.exitCode != \"3\""}, "plugin": %s}`
	if err := json.Unmarshal(fmt.Appendf(nil, template, plugins), &tmpl); err != nil {
		t.Fatalf("template with plugin %s: %v", plugins, err)
	}
	return executorplugins.ExecuteTemplateArgs{
		Workflow: &executorplugins.Workflow{ObjectMeta: executorplugins.ObjectMeta{Name: "fieldflow-field-x7k2p", Namespace: ns, UID: uid}},
		Template: &tmpl,
	}
}

// opArgs is args for a fieldflow node doing op.
func opArgs(t *testing.T, op Op) executorplugins.ExecuteTemplateArgs {
	t.Helper()
	b, err := json.Marshal(map[string]Op{Name: op})
	if err != nil {
		t.Fatal(err)
	}
	return args(t, string(b))
}

// execute runs one node through the handler and returns its result.
func execute(t *testing.T, s http.Handler, a executorplugins.ExecuteTemplateArgs) wfv1.NodeResult {
	t.Helper()
	n, err := tryExecute(s, a)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// tryExecute is execute for another goroutine than the test's.
func tryExecute(s http.Handler, a executorplugins.ExecuteTemplateArgs) (wfv1.NodeResult, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return wfv1.NodeResult{}, err
	}
	req := httptest.NewRequest(http.MethodPost, ExecutePath, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		return wfv1.NodeResult{}, fmt.Errorf("status %d: %s", w.Code, w.Body)
	}
	var reply executorplugins.ExecuteTemplateReply
	if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
		return wfv1.NodeResult{}, fmt.Errorf("reply %s: %w", w.Body, err)
	}
	if reply.Node == nil {
		return wfv1.NodeResult{}, fmt.Errorf("reply %s has no node", w.Body)
	}
	return *reply.Node, nil
}

// params are a node's output parameters by name.
func params(n wfv1.NodeResult) map[string]string {
	out := map[string]string{}
	if n.Outputs == nil {
		return out
	}
	for _, p := range n.Outputs.Parameters {
		out[p.Name] = p.Value.String()
	}
	return out
}

// exit is a node's exitCode output.
func exit(n wfv1.NodeResult) string {
	if n.Outputs == nil || n.Outputs.ExitCode == nil {
		return "<none>"
	}
	return *n.Outputs.ExitCode
}
