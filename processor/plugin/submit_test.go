package plugin

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// fakeAPI plays the Kubernetes API's workflow create endpoint: it records
// each request and answers 201, or what answer says for the Workflow.
type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []apiRequest
	answer   func(wf *wfv1.Workflow) *metav1.Status // nil: created
}

type apiRequest struct {
	method, path, auth, contentType string
	wf                              wfv1.Workflow
	raw                             map[string]any
}

func newFakeAPI(t *testing.T) *fakeAPI {
	api := &fakeAPI{}
	api.Server = httptest.NewTLSServer(http.HandlerFunc(api.serve))
	t.Cleanup(api.Close)
	return api
}

func (api *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := apiRequest{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type")}
	json.Unmarshal(body, &req.wf)
	json.Unmarshal(body, &req.raw)
	api.mu.Lock()
	api.requests = append(api.requests, req)
	answer := api.answer
	api.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if answer != nil {
		if st := answer(&req.wf); st != nil {
			st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
			w.WriteHeader(int(st.Code))
			json.NewEncoder(w).Encode(st)
			return
		}
	}
	w.WriteHeader(http.StatusCreated)
	w.Write(body)
}

func (api *fakeAPI) got() []apiRequest {
	api.mu.Lock()
	defer api.mu.Unlock()
	return append([]apiRequest(nil), api.requests...)
}

// serviceAccount writes a service account folder trusting api, and
// returns it.
func serviceAccount(t *testing.T, api *fakeAPI) string {
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw})
	for name, content := range map[string][]byte{tokenFile: []byte("sa-token\n"), caFile: ca, namespaceFile: []byte("from-file")} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// apiEnv is the environment that points the client at api.
func apiEnv(api *fakeAPI) func(string) string {
	u, _ := url.Parse(api.URL)
	env := map[string]string{"KUBERNETES_SERVICE_HOST": u.Hostname(), "KUBERNETES_SERVICE_PORT": u.Port()}
	return func(k string) string { return env[k] }
}

// submitServer is a fixture server that submits to api.
func submitServer(t *testing.T, api *fakeAPI) *Server {
	s, _ := fixture(t)
	s.kube = &kube{dir: serviceAccount(t, api), getenv: apiEnv(api)}
	return s
}

// item is key as Argo v3.7 hands a withParam string item over: JSON with
// its quotes cut off.
func item(key string) string {
	b, _ := json.Marshal(key)
	return string(b[1 : len(b)-1])
}

var labels = map[string]string{"app.kubernetes.io/part-of": "fieldflow", "fieldflow/parent": "fieldflow-box-x7k2p"}

// TestSubmit creates Workflows through the API as the agent's submit
// nodes ask, the key exact whatever its characters.
func TestSubmit(t *testing.T) {
	odd := "fields/input/" + boxA + `/fields_2025-06-03_"späte" Lieferung ü 東 <&>.jsonl`
	for _, tc := range []struct {
		name, template, key string
	}{
		{"field", "fieldflow-field", fieldReady},
		{"box", "fieldflow-box", boxReady},
		{"quotes and UTF-8", "fieldflow-field", odd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t)
			s := submitServer(t, api)
			n := execute(t, s, opArgs(t, Op{Submit: &Submit{Template: tc.template, Item: item(tc.key), Labels: labels}}))
			name := WorkflowName(tc.template, uid, tc.key)
			if n.Phase != wfv1.NodeSucceeded || n.Message != "submitted "+name || params(n)[OutputWorkflow] != name || exit(n) != "0" {
				t.Errorf("node %s %q %v exitCode %s, want submitted %s", n.Phase, n.Message, params(n), exit(n), name)
			}
			reqs := api.got()
			if len(reqs) != 1 {
				t.Fatalf("%d API requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodPost || r.path != "/apis/argoproj.io/v1alpha1/namespaces/"+ns+"/workflows" ||
				r.auth != "Bearer sa-token" || !strings.HasPrefix(r.contentType, "application/json") {
				t.Errorf("%s %s auth %q type %q", r.method, r.path, r.auth, r.contentType)
			}
			wf := r.wf
			if r.raw["kind"] != "Workflow" || r.raw["apiVersion"] != "argoproj.io/v1alpha1" {
				t.Errorf("kind %v apiVersion %v", r.raw["kind"], r.raw["apiVersion"])
			}
			if wf.Name != name || wf.GenerateName != "" || wf.Namespace != ns || !maps.Equal(wf.Labels, labels) {
				t.Errorf("metadata %+v", wf.ObjectMeta)
			}
			if ref := wf.Spec.WorkflowTemplateRef; ref == nil || ref.Name != tc.template || ref.ClusterScope {
				t.Errorf("template ref %+v", ref)
			}
			ps := wf.Spec.Arguments.Parameters
			if len(ps) != 1 || ps[0].Name != pipeline.KeyParam || ps[0].Value == nil || ps[0].Value.String() != tc.key {
				t.Errorf("arguments %+v, want %s=%q", ps, pipeline.KeyParam, tc.key)
			}
		})
	}
}

// TestSubmitAgain: a submit that runs again (a retry, a restarted agent)
// finds its Workflow made, and succeeds without a second one.
func TestSubmitAgain(t *testing.T) {
	api := newFakeAPI(t)
	made := map[string]bool{}
	api.answer = func(wf *wfv1.Workflow) *metav1.Status {
		if made[wf.Name] {
			st := apierrors.NewAlreadyExists(schema.GroupResource{Group: "argoproj.io", Resource: "workflows"}, wf.Name).Status()
			return &st
		}
		made[wf.Name] = true
		return nil
	}
	s := submitServer(t, api)
	a := opArgs(t, Op{Submit: &Submit{Template: "fieldflow-field", Item: item(fieldReady)}})
	name := WorkflowName("fieldflow-field", uid, fieldReady)
	first, again := execute(t, s, a), execute(t, s, a)
	if first.Message != "submitted "+name {
		t.Errorf("first: %s %q", first.Phase, first.Message)
	}
	if again.Phase != wfv1.NodeSucceeded || again.Message != "workflow "+name+" exists: submitted before" || params(again)[OutputWorkflow] != name {
		t.Errorf("again: %s %q %v", again.Phase, again.Message, params(again))
	}
	if n := len(api.got()); n != 2 || len(made) != 1 {
		t.Errorf("%d requests made %d Workflows, want 2 and 1", n, len(made))
	}
}

// TestSubmitRefused: what no generated template asks is permanent and
// reaches no API; what the API refuses is permanent or retried by kind.
func TestSubmitRefused(t *testing.T) {
	status := func(code int32, reason metav1.StatusReason) func(*wfv1.Workflow) *metav1.Status {
		return func(*wfv1.Workflow) *metav1.Status {
			return &metav1.Status{Status: metav1.StatusFailure, Code: code, Reason: reason, Message: "said the API"}
		}
	}
	backslash := "fields/input/" + boxA + `/fields_2025-06-03_a\b.jsonl`
	tab := "fields/input/" + boxA + "/fields_2025-06-03_a\tb.jsonl"
	for _, tc := range []struct {
		name       string
		op         Submit
		uid        string
		answer     func(*wfv1.Workflow) *metav1.Status
		exit       string
		message    string
		reachesAPI bool
	}{
		{"backslash in the key", Submit{Template: "fieldflow-field", Item: item(backslash)}, uid, nil, "3", fmt.Sprintf("submit %q", backslash), false},
		{"tab in the key", Submit{Template: "fieldflow-field", Item: item(tab)}, uid, nil, "3", fmt.Sprintf("submit %q", tab), false},
		{"no JSON string body", Submit{Template: "fieldflow-field", Item: `a"b`}, uid, nil, "3", "is no JSON string body", false},
		{"not an input", Submit{Template: "fieldflow-field", Item: item("fields/input/readme.txt")}, uid, nil, "3", "not an input", false},
		{"reconcile template", Submit{Template: pipeline.ReconcileTemplate, Item: item(fieldReady)}, uid, nil, "3", `"fieldflow-reconcile" is no asset template of the pipeline`, false},
		{"another asset's template", Submit{Template: "fieldflow-box", Item: item(fieldReady)}, uid, nil, "3", "template fieldflow-box does not run field inputs (fieldflow-field does)", false},
		{"no workflow UID", Submit{Template: "fieldflow-field", Item: item(fieldReady)}, "", nil, "3", "no workflow UID", false},
		{"forbidden", Submit{Template: "fieldflow-field", Item: item(fieldReady)}, uid, status(403, metav1.StatusReasonForbidden), "3", "said the API", true},
		{"invalid", Submit{Template: "fieldflow-field", Item: item(fieldReady)}, uid, status(422, metav1.StatusReasonInvalid), "3", "said the API", true},
		{"unavailable", Submit{Template: "fieldflow-field", Item: item(fieldReady)}, uid, status(503, metav1.StatusReasonServiceUnavailable), "1", "said the API", true},
		{"unauthorized (a token being rotated)", Submit{Template: "fieldflow-field", Item: item(fieldReady)}, uid, status(401, metav1.StatusReasonUnauthorized), "1", "said the API", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.answer = tc.answer
			s := submitServer(t, api)
			a := opArgs(t, Op{Submit: &tc.op})
			a.Workflow.ObjectMeta.UID = tc.uid
			n := execute(t, s, a)
			if n.Phase != wfv1.NodeFailed || exit(n) != tc.exit || !strings.Contains(n.Message, tc.message) {
				t.Errorf("%s exitCode %s %q, want Failed %s %q", n.Phase, exit(n), n.Message, tc.exit, tc.message)
			}
			if got := len(api.got()) > 0; got != tc.reachesAPI {
				t.Errorf("reached the API: %v, want %v", got, tc.reachesAPI)
			}
		})
	}
}

// TestSubmitNoServiceAccount: a sidecar without a token, a CA or the API's
// address still judges, and a submit names what is missing, permanently;
// once it is there, submits work without a restart.
func TestSubmitNoServiceAccount(t *testing.T) {
	api := newFakeAPI(t)
	for _, tc := range []struct {
		name    string
		missing string // a file of the folder, or "env"
		message string
	}{
		{"no token", tokenFile, "no service account token to submit with"},
		{"no CA", caFile, "no CA to verify the Kubernetes API with"},
		{"no API address", "env", "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := fixture(t)
			dir := serviceAccount(t, api)
			getenv := apiEnv(api)
			if tc.missing == "env" {
				s.kube = &kube{dir: dir, getenv: func(string) string { return "" }}
			} else {
				os.Rename(filepath.Join(dir, tc.missing), filepath.Join(dir, tc.missing+".away"))
				s.kube = &kube{dir: dir, getenv: getenv}
			}
			if n := execute(t, s, opArgs(t, Op{Check: &Check{Key: fieldReady, Name: "start-date"}})); n.Phase != wfv1.NodeSucceeded {
				t.Errorf("check: %s %q", n.Phase, n.Message)
			}
			submit := opArgs(t, Op{Submit: &Submit{Template: "fieldflow-field", Item: item(fieldReady)}})
			n := execute(t, s, submit)
			if n.Phase != wfv1.NodeFailed || exit(n) != "3" || !strings.Contains(n.Message, tc.message) {
				t.Errorf("submit: %s exitCode %s %q, want Failed 3 %q", n.Phase, exit(n), n.Message, tc.message)
			}
			if tc.missing == "env" {
				s.kube.getenv = getenv
			} else {
				os.Rename(filepath.Join(dir, tc.missing+".away"), filepath.Join(dir, tc.missing))
			}
			if n := execute(t, s, submit); n.Phase != wfv1.NodeSucceeded {
				t.Errorf("submit once it is there: %s %q", n.Phase, n.Message)
			}
		})
	}
}

// TestSubmitNamespace: a request that names no namespace submits to the
// service account's.
func TestSubmitNamespace(t *testing.T) {
	api := newFakeAPI(t)
	s := submitServer(t, api)
	a := opArgs(t, Op{Submit: &Submit{Template: "fieldflow-box", Item: item(boxReady)}})
	a.Workflow.ObjectMeta.Namespace = ""
	if n := execute(t, s, a); n.Phase != wfv1.NodeSucceeded {
		t.Fatalf("%s %q", n.Phase, n.Message)
	}
	if r := api.got(); len(r) != 1 || r[0].path != "/apis/argoproj.io/v1alpha1/namespaces/from-file/workflows" || r[0].wf.Namespace != "from-file" {
		t.Errorf("requests %+v", r)
	}
}
