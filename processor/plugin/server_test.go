package plugin

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/rules"
)

// TestHTTP checks the protocol around the nodes, as Argo's RPC client
// reads it: 403 for a bad token (before anything else), 404 for another
// method, {} for another plugin's node.
func TestHTTP(t *testing.T) {
	s, _ := fixture(t)
	status := opArgs(t, Op{Status: &Status{}})
	for _, tc := range []struct {
		name, method, path, auth string
		body                     any
		code                     int
		reply                    string // the body, when the code is 200
	}{
		{"no token", "POST", ExecutePath, "", status, http.StatusForbidden, ""},
		{"wrong token", "POST", ExecutePath, "Bearer nope", status, http.StatusForbidden, ""},
		{"token without Bearer", "POST", ExecutePath, token, status, http.StatusForbidden, ""},
		{"bad token on an unknown path", "POST", "/api/v1/nope", "Bearer x", status, http.StatusForbidden, ""},
		{"unknown method", "POST", "/api/v1/template.nope", "Bearer " + token, status, http.StatusNotFound, ""},
		{"GET", "GET", ExecutePath, "Bearer " + token, nil, http.StatusMethodNotAllowed, ""},
		{"not JSON", "POST", ExecutePath, "Bearer " + token, "{", http.StatusBadRequest, ""},
		{"no template", "POST", ExecutePath, "Bearer " + token, map[string]any{"workflow": status.Workflow}, http.StatusBadRequest, ""},
		{"another plugin", "POST", ExecutePath, "Bearer " + token, args(t, `{"slack": {"channel": "x"}}`), http.StatusOK, "{}\n"},
		{"no plugin", "POST", ExecutePath, "Bearer " + token, map[string]any{"workflow": status.Workflow, "template": wfv1.Template{Name: "x"}}, http.StatusOK, "{}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body string
			if tc.body != nil {
				b, _ := json.Marshal(tc.body)
				body = string(b)
				if s, ok := tc.body.(string); ok {
					body = s
				}
			}
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.code, w.Body)
			}
			if tc.reply != "" && w.Body.String() != tc.reply {
				t.Errorf("reply %q, want %q", w.Body, tc.reply)
			}
		})
	}
}

// TestOps runs each operation on the fixture and checks the node Argo
// gets: phase, message, outputs and exitCode.
func TestOps(t *testing.T) {
	wantStates := func(counts map[rules.State]int) map[string]string {
		out := map[string]string{OutputOldestWaiting: "<any>"}
		for _, s := range rules.States {
			out[string(s)] = strconv.Itoa(counts[s])
		}
		return out
	}
	list := func(keys ...string) string { b, _ := json.Marshal(append([]string{}, keys...)); return string(b) }
	for _, tc := range []struct {
		name    string
		op      Op
		phase   wfv1.NodePhase
		message string // the whole message, or with a leading "~", a part of it
		outputs map[string]string
		exit    string
	}{
		{"check: box done, nothing to run", Op{Check: &Check{Key: boxDone, Name: "box-processed"}}, wfv1.NodeSucceeded,
			"done, nothing to run: output boxes/output/bounding_box_" + boxA + ".jsonl",
			map[string]string{OutputReady: "false", OutputState: "done", OutputReason: "done, nothing to run: output boxes/output/bounding_box_" + boxA + ".jsonl"}, "0"},
		{"check: field waiting for its box", Op{Check: &Check{Key: fieldWaiting, Name: "box-processed"}}, wfv1.NodeSucceeded,
			"waiting for bounding box " + boxReady + " (not processed yet)",
			map[string]string{OutputReady: "false", OutputState: "waiting", OutputReason: "waiting for bounding box " + boxReady + " (not processed yet)"}, "0"},
		{"check: a check that holds", Op{Check: &Check{Key: fieldWaiting, Name: "start-date"}}, wfv1.NodeSucceeded,
			"dated 2025-06-03, on or after the start date 2025-06-02",
			map[string]string{OutputReady: "true", OutputState: "waiting", OutputReason: "dated 2025-06-03, on or after the start date 2025-06-02"}, "0"},
		{"check: out of range", Op{Check: &Check{Key: fieldEarly, Name: "start-date"}}, wfv1.NodeSucceeded,
			"~before the start date 2025-06-02",
			map[string]string{OutputReady: "false", OutputState: "out-of-range", OutputReason: "dated 2025-06-01, before the start date 2025-06-02: out of range, never processed"}, "0"},
		{"verdict: waiting", Op{Verdict: &Verdict{Key: fieldWaiting}}, wfv1.NodeSucceeded,
			"waiting for bounding box " + boxReady + " (not processed yet)",
			map[string]string{OutputState: "waiting", OutputReason: "waiting for bounding box " + boxReady + " (not processed yet)"}, "0"},
		{"verdict: out of range", Op{Verdict: &Verdict{Key: fieldEarly}}, wfv1.NodeSucceeded,
			"dated 2025-06-01, before the start date 2025-06-02: out of range, never processed",
			map[string]string{OutputState: "out-of-range", OutputReason: "dated 2025-06-01, before the start date 2025-06-02: out of range, never processed"}, "0"},
		{"ready: all", Op{Ready: &Ready{Limit: pipeline.PageLimit}}, wfv1.NodeSucceeded, "2 ready: 1 box, 1 field",
			map[string]string{"box": list(boxReady), "field": list(fieldReady)}, "0"},
		{"ready: after a box", Op{Ready: &Ready{After: boxDone, Limit: pipeline.PageLimit}}, wfv1.NodeSucceeded, "1 ready: 1 field",
			map[string]string{"box": "[]", "field": list(fieldReady)}, "0"},
		{"ready: a page", Op{Ready: &Ready{Limit: 1}}, wfv1.NodeSucceeded, "1 of 2 ready: 1 box",
			map[string]string{"box": list(boxReady), "field": "[]"}, "0"},
		{"ready: nothing", Op{Ready: &Ready{After: fieldWaiting, Limit: 10}}, wfv1.NodeSucceeded, "nothing ready",
			map[string]string{"box": "[]", "field": "[]"}, "0"},
		{"status", Op{Status: &Status{}}, wfv1.NodeSucceeded, "5 inputs: 1 done, 2 ready, 1 waiting, 1 out-of-range",
			wantStates(map[rules.State]int{rules.Done: 1, rules.Ready: 2, rules.Waiting: 1, rules.OutOfRange: 1}), "0"},

		{"check: no such input", Op{Check: &Check{Key: "boxes/input/bounding_box_" + strings.Repeat("c", 32) + ".jsonl", Name: "x"}}, wfv1.NodeFailed,
			"~no such input", nil, "3"},
		{"check: no such check", Op{Check: &Check{Key: fieldWaiting, Name: "nope"}}, wfv1.NodeFailed,
			`field has no check "nope" (its checks: [start-date box-processed earlier-dates-processed])`, nil, "3"},
		{"check: not an input", Op{Check: &Check{Key: "fields/input/readme.txt", Name: "start-date"}}, wfv1.NodeFailed, "~not an input", nil, "3"},
		{"check: escaping key", Op{Check: &Check{Key: "../etc/passwd", Name: "start-date"}}, wfv1.NodeFailed, `~".." segment`, nil, "3"},
		{"check: no name", Op{Check: &Check{Key: fieldWaiting}}, wfv1.NodeFailed, "check: want a key and a check name", nil, "3"},
		{"verdict: no key", Op{Verdict: &Verdict{}}, wfv1.NodeFailed, "verdict: want a key", nil, "3"},
		{"ready: after no input", Op{Ready: &Ready{After: "nope/x", Limit: 1}}, wfv1.NodeFailed, "~not an input", nil, "3"},
		{"ready: no limit", Op{Ready: &Ready{}}, wfv1.NodeFailed, "ready: limit 0: want 1 or more", nil, "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := fixture(t)
			n := execute(t, s, opArgs(t, tc.op))
			if n.Phase != tc.phase || exit(n) != tc.exit {
				t.Errorf("phase %s exitCode %s, want %s %s (message %q)", n.Phase, exit(n), tc.phase, tc.exit, n.Message)
			}
			if part, ok := strings.CutPrefix(tc.message, "~"); ok && !strings.Contains(n.Message, part) || !ok && n.Message != tc.message {
				t.Errorf("message %q, want %q", n.Message, tc.message)
			}
			got := params(n)
			if tc.outputs[OutputOldestWaiting] == "<any>" {
				if _, err := strconv.Atoi(got[OutputOldestWaiting]); err != nil {
					t.Errorf("%s = %q: %v", OutputOldestWaiting, got[OutputOldestWaiting], err)
				}
				got[OutputOldestWaiting] = "<any>"
			}
			if want := tc.outputs; (len(want) > 0 || len(got) > 0) && !maps.Equal(got, want) {
				t.Errorf("outputs %v\nwant    %v", got, want)
			}
		})
	}
}

// TestStrictOp refuses a node the generator did not write: permanent, so
// Argo does not retry it.
func TestStrictOp(t *testing.T) {
	s, _ := fixture(t)
	for _, tc := range []struct{ name, plugin, message string }{
		{"unknown operation", `{"fieldflow": {"process": {"key": "k"}}}`, `unknown field "process"`},
		{"unknown field", `{"fieldflow": {"check": {"key": "k", "name": "n", "extra": 1}}}`, `unknown field "extra"`},
		{"two operations", `{"fieldflow": {"status": {}, "ready": {"limit": 1}}}`, "want exactly one of check, verdict, ready, submit or status, got 2"},
		{"no operation", `{"fieldflow": {}}`, "got 0"},
		{"null", `{"fieldflow": null}`, "got 0"},
		{"wrong type", `{"fieldflow": {"ready": {"limit": "500"}}}`, "cannot unmarshal string"},
		{"not an object", `{"fieldflow": "status"}`, "cannot unmarshal string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := execute(t, s, args(t, tc.plugin))
			if n.Phase != wfv1.NodeFailed || exit(n) != "3" || !strings.Contains(n.Message, tc.message) {
				t.Errorf("phase %s exitCode %s message %q, want Failed 3 %q", n.Phase, exit(n), n.Message, tc.message)
			}
		})
	}
}

// TestErrors checks the exitCode the retry expression reads: 1 for a
// store that does not answer (retried), 2 for a panic on the request's
// goroutine (retried, counted as a crash), and that neither is kept: the
// sidecar still answers, and the same node succeeds once the fault is gone.
func TestErrors(t *testing.T) {
	outage := func(s *Server, st *faulty) func() {
		st.failing.Store(true)
		return func() { st.failing.Store(false) }
	}
	panicking := func(s *Server, st *faulty) func() {
		judge, now := s.verdicts.judge, s.now
		s.verdicts.judge = func(context.Context, string) (rules.Verdict, error) { panic("judging blew up") }
		s.now = func() time.Time { panic("judging blew up") }
		return func() { s.verdicts.judge, s.now = judge, now }
	}
	for _, tc := range []struct {
		name    string
		fault   func(*Server, *faulty) (undo func())
		op      Op
		exit    string
		message string
	}{
		{"store down: check", outage, Op{Check: &Check{Key: fieldWaiting, Name: "box-processed"}}, "1", "store unreachable"},
		{"store down: verdict", outage, Op{Verdict: &Verdict{Key: fieldWaiting}}, "1", "store unreachable"},
		{"store down: ready", outage, Op{Ready: &Ready{Limit: 5}}, "1", "store unreachable"},
		{"store down: status", outage, Op{Status: &Status{}}, "1", "store unreachable"},
		{"panic: check", panicking, Op{Check: &Check{Key: fieldWaiting, Name: "box-processed"}}, "2", "panic: judging blew up"},
		{"panic: status", panicking, Op{Status: &Status{}}, "2", "panic: judging blew up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, st := fixture(t)
			undo := tc.fault(s, st)
			n := execute(t, s, opArgs(t, tc.op))
			if n.Phase != wfv1.NodeFailed || exit(n) != tc.exit || !strings.Contains(n.Message, tc.message) {
				t.Errorf("phase %s exitCode %s message %.200q, want Failed %s %q", n.Phase, exit(n), n.Message, tc.exit, tc.message)
			}
			if strings.Contains(n.Message, "goroutine ") {
				t.Errorf("the node's message holds a stack: %.300q", n.Message)
			}
			undo()
			if n := execute(t, s, opArgs(t, tc.op)); n.Phase != wfv1.NodeSucceeded {
				t.Errorf("after the fault: %s %q", n.Phase, n.Message)
			}
		})
	}
}
