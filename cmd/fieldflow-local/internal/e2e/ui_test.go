package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
	"github.com/fieldflow/fieldflow/generator"
	"github.com/fieldflow/fieldflow/processor/pipeline"
	sampledata "github.com/fieldflow/fieldflow/processor/sample"
)

// TestArgoUI drives Argo's own UI, served by the engine's argo server, in
// Debian's Chromium: what a user of the UI reads and does, asserted from
// the page. Screenshots go to .cache/argo-ui-screenshots.
func TestArgoUI(t *testing.T) {
	e, box := submittedBox(t)
	_, fieldflow := binaries(t)
	url, token := e.ui(t)
	api := url + "/api/v1/workflows/" + e.namespace
	if code := httpGet(t, api, ""); code != http.StatusUnauthorized {
		t.Errorf("GET %s without a token: %d, want 401", api, code)
	}
	if code := httpGet(t, api, token); code != http.StatusOK {
		t.Fatalf("GET %s with the engine's token: %d, want 200", api, code)
	}
	waiting := e.waitingField(t)
	b := newBrowser(t, url)

	t.Run("login", func(t *testing.T) {
		b.open(t, "/workflows/"+e.namespace)
		b.waitVisible(t, `//textarea[@id="token"]`)
		if text := b.text(t); strings.Contains(text, waiting.Name) {
			t.Errorf("the page shows workflow %s before login:\n%s", waiting.Name, text)
		}
		b.do(t, chromedp.SendKeys(chromedp.ID("token"), token),
			chromedp.Click(chromedp.Search(`//textarea[@id="token"]/parent::div/following-sibling::div/button`)))
		b.waitText(t, waiting.Name) // the login form leads to the workflows list
		b.screenshot(t, "workflows")
	})

	t.Run("check reason", func(t *testing.T) {
		check := nodeOf(t, waiting, "box-processed", wfv1.NodeTypePlugin)
		reason := e.verdict(t, fieldflow, waiting.Spec.Arguments.GetParameterByName(pipeline.KeyParam).Value.String()).Reason
		if check.Message != reason {
			t.Errorf("box-processed node's message %q, fieldflow status says %q", check.Message, reason)
		}
		b.open(t, "/workflows/"+e.namespace+"/"+waiting.Name+"?nodeId="+check.ID)
		for _, name := range append(fieldChecks, "process") {
			b.waitText(t, name)
		}
		b.waitText(t, reason)
		b.screenshot(t, "waiting-field")
		process := nodeOf(t, waiting, "process", wfv1.NodeTypeSkipped)
		b.open(t, "/workflows/"+e.namespace+"/"+waiting.Name+"?nodeId="+process.ID)
		b.waitText(t, "Skipped")
	})

	t.Run("templates", func(t *testing.T) {
		// The list shows each template's title and description.
		for _, kind := range []string{"workflow-templates", "cron-workflows"} {
			b.open(t, "/"+kind+"/"+e.namespace)
			for _, o := range e.metadata(t, strings.ReplaceAll(kind, "-", "")) {
				b.waitText(t, o.Annotations[generator.TitleAnnotation])
				b.waitText(t, o.Annotations[generator.DescriptionAnnotation])
			}
			b.screenshot(t, kind)
		}
	})

	var submitted struct{ key, workflow string }
	t.Run("submit", func(t *testing.T) {
		key := e.lateField(t, box.key)
		if v := e.verdict(t, fieldflow, key); !v.Ready {
			t.Fatalf("%s is %s (%s), want ready", key, v.State, v.Reason)
		}
		b.open(t, "/workflow-templates/"+e.namespace+"/fieldflow-field?sidePanel=submit")
		param := `//label[text()="key"]/following-sibling::textarea[1]`
		b.waitVisible(t, param)
		b.do(t, chromedp.SendKeys(chromedp.Search(param), key),
			chromedp.Click(chromedp.Search(`//h4[text()="Submit Workflow"]/following::button[contains(., "Submit")][1]`)))
		name := b.waitLocation(t, workflowPage(e.namespace), "")
		wf := e.waitFinished(t, name)
		if wf.Status.Phase != wfv1.WorkflowSucceeded {
			t.Fatalf("workflow %s submitted from the UI: %s (%s)", name, wf.Status.Phase, wf.Status.Message)
		}
		// The workflow's own node panel shows its phase.
		b.open(t, "/workflows/"+e.namespace+"/"+name+"?nodeId="+name)
		b.waitText(t, "Succeeded")
		b.screenshot(t, "submitted")
		submitted.key, submitted.workflow = key, name
		if got := states(t, fieldflow, e.store)[key]; got != "done" {
			t.Errorf("%s after the UI's submit: %s, want done", key, got)
		}
	})

	// The logs panel of the process node of the workflow just submitted
	// (an older one's pod may be gone: pods are deleted some minutes
	// after they succeed, and the engine keeps no log archive).
	t.Run("logs", func(t *testing.T) {
		if submitted.key == "" {
			t.Skip("nothing was submitted")
		}
		wf := e.workflow(t, submitted.workflow)
		process := nodeOf(t, wf, "process", wfv1.NodeTypePod)
		b.open(t, "/workflows/"+e.namespace+"/"+wf.Name+"?nodeId="+process.ID+"&sidePanel=logs:"+process.ID+":main")
		b.waitText(t, `"key":"`+submitted.key+`"`)
		b.screenshot(t, "logs")
	})

	t.Run("resubmit", func(t *testing.T) {
		key := e.lateField(t, box.key)
		p := filepath.Join(e.store, filepath.FromSlash(key))
		good, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{\"box_id\": 1}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		failed := e.submit(t, "fieldflow-field", key)
		if failed.Status.Phase != wfv1.WorkflowFailed {
			t.Fatalf("an invalid file's workflow: %s, want Failed", failed.Status.Phase)
		}
		if err := os.WriteFile(p, good, 0o644); err != nil { // the user fixes the file
			t.Fatal(err)
		}
		b.open(t, "/workflows/"+e.namespace+"/"+failed.Name+"?sidePanel=resubmit")
		b.do(t, chromedp.Click(chromedp.Search(`//h4[text()="Resubmit Workflow"]/following::button[contains(., "Resubmit")][1]`)))
		name := b.waitLocation(t, workflowPage(e.namespace), failed.Name)
		if wf := e.waitFinished(t, name); wf.Status.Phase != wfv1.WorkflowSucceeded {
			t.Fatalf("resubmitted workflow %s: %s (%s)", name, wf.Status.Phase, wf.Status.Message)
		}
		if v := e.verdict(t, fieldflow, key); v.State != "done" {
			t.Errorf("%s after the resubmit: %s (%s), want done", key, v.State, v.Reason)
		}
	})

	t.Run("events", func(t *testing.T) {
		for _, page := range []struct{ path, resource string }{
			{"event-sources", "eventsources"}, {"sensors", "sensors"}, {"event-flow", "eventsources"}, {"event-flow", "sensors"},
		} {
			b.open(t, "/"+page.path+"/"+e.namespace)
			for _, o := range e.metadata(t, page.resource) {
				b.waitText(t, o.Name)
			}
			b.screenshot(t, page.path)
		}
	})

	t.Run("server restarted", func(t *testing.T) {
		pid, err := os.ReadFile(filepath.Join(e.state, "argo-server", "pid"))
		if err != nil {
			t.Fatal(err)
		}
		if err := exec.Command("kill", "-9", strings.TrimSpace(string(pid))).Run(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for httpGet(t, api, token) != http.StatusOK {
			if time.Now().After(deadline) {
				t.Fatalf("argo server not serving a minute after SIGKILL; engine log:\n%s", e.tail(20))
			}
			time.Sleep(200 * time.Millisecond)
		}
		b.open(t, "/workflows/"+e.namespace)
		b.waitText(t, waiting.Name)
	})
}

// ui is the engine's argo server address, from its log, and its token.
func (e *upEngine) ui(t *testing.T) (url, token string) {
	t.Helper()
	log, _ := os.ReadFile(e.log)
	m := regexp.MustCompile(`msg="Argo UI" url=(http://127\.0\.0\.1:\d+)/`).FindSubmatch(log)
	if m == nil {
		t.Fatalf("the engine did not say where its UI is; log:\n%s", e.tail(30))
	}
	b, err := os.ReadFile(names.UIToken(e.state))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(names.UIToken(e.state)); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	if !strings.HasPrefix(string(b), "Bearer ") {
		t.Errorf("token file holds %.10q..., want Bearer <token>", b)
	}
	return string(m[1]), string(b)
}

// waitingField uploads a field file of a box nobody uploaded and submits
// its workflow with argo: it ends Succeeded, waiting for its box.
func (e *upEngine) waitingField(t *testing.T) *wfv1.Workflow {
	t.Helper()
	id := fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
	key := "fields/input/" + id + "/fields_2025-06-02.jsonl"
	e.putField(t, key, id)
	wf := e.submit(t, "fieldflow-field", key)
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("a field waiting for its box: workflow %s, want Succeeded", wf.Status.Phase)
	}
	return wf
}

// submit runs `argo submit --from workflowtemplate/TEMPLATE -p key=KEY
// --watch` and returns the workflow once it finished.
func (e *upEngine) submit(t *testing.T, template, key string) *wfv1.Workflow {
	t.Helper()
	out, _ := e.client(t, 3*time.Minute, argoBinary(t), "submit", "-n", e.namespace,
		"--from", "workflowtemplate/"+template, "-p", pipeline.KeyParam+"="+key, "--watch")
	m := regexp.MustCompile(`(?m)^Name:\s+(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("argo submit %s named no workflow:\n%s", key, out)
	}
	return e.waitFinished(t, m[1])
}

// lateField uploads a late field file of box's start date: it is ready
// as soon as the box is done.
func (e *upEngine) lateField(t *testing.T, boxKey string) string {
	t.Helper()
	id := strings.TrimSuffix(strings.TrimPrefix(path.Base(boxKey), "bounding_box_"), ".jsonl")
	key := "fields/input/" + id + "/fields_2025-06-02_ui-" + fmt.Sprint(rand.Uint32()) + ".jsonl"
	e.putField(t, key, id)
	return key
}

// putField writes a valid field file of box id at key in the store.
func (e *upEngine) putField(t *testing.T, key, id string) {
	t.Helper()
	var buf bytes.Buffer
	sampledata.AppendField(&buf, rand.New(rand.NewPCG(1, 2)), id)
	p := filepath.Join(e.store, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// verdict is what `fieldflow status` says of key.
func (e *upEngine) verdict(t *testing.T, fieldflow, key string) verdict {
	t.Helper()
	for _, v := range verdicts(t, fieldflow, e.store) {
		if v.Key == key {
			return v
		}
	}
	t.Fatalf("fieldflow status has no %s", key)
	return verdict{}
}

// metadata is that of every object of the resource in the namespace.
func (e *upEngine) metadata(t *testing.T, resource string) []metav1.PartialObjectMetadata {
	t.Helper()
	out, err := e.client(t, time.Minute, "kubectl", "get", resource, "-n", e.namespace, "-o", "json")
	if err != nil {
		t.Fatalf("kubectl get %s: %v\n%s", resource, err, out)
	}
	var list metav1.PartialObjectMetadataList
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) == 0 {
		t.Fatalf("no %s installed", resource)
	}
	return list.Items
}

// workflow reads a workflow from the API server.
func (e *upEngine) workflow(t *testing.T, name string) *wfv1.Workflow {
	t.Helper()
	out, err := e.client(t, time.Minute, "kubectl", "get", "wf", "-n", e.namespace, name, "-o", "json")
	if err != nil {
		t.Fatalf("kubectl get wf %s: %v\n%s", name, err, out)
	}
	wf := &wfv1.Workflow{}
	if err := json.Unmarshal([]byte(out), wf); err != nil {
		t.Fatal(err)
	}
	return wf
}

// waitFinished waits up to three minutes for a workflow to finish.
func (e *upEngine) waitFinished(t *testing.T, name string) *wfv1.Workflow {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		wf := e.workflow(t, name)
		if wf.Status.Fulfilled() || time.Now().After(deadline) {
			return wf
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// nodeOf is the last attempt of wf's node of that name, which must be of type typ.
func nodeOf(t *testing.T, wf *wfv1.Workflow, name string, typ wfv1.NodeType) *wfv1.NodeStatus {
	t.Helper()
	n := nodeNamed(wf, name)
	if n == nil || n.Type != typ {
		t.Fatalf("workflow %s: node %s is %s, want a %s node", wf.Name, name, describe(n), typ)
	}
	return n
}

func httpGet(t *testing.T, url, authorization string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// browser is one headless Chromium tab on the UI.
type browser struct {
	ctx  context.Context
	base string
	dir  string // screenshots
}

// newBrowser starts Debian's Chromium, headless: make test installs it.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: apt-get install chromium (make test installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1600, 1100))
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser, which lives as long as that run's
	// context: the test's, not a step's timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	local, _ := binaries(t)
	dir := filepath.Join(filepath.Dir(filepath.Dir(local)), "argo-ui-screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{ctx: ctx, base: base, dir: dir}
}

// do runs steps in the tab, a minute at most.
func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v\npage:\n%s", err, b.text(t))
	}
}

func (b *browser) open(t *testing.T, path string) {
	t.Helper()
	b.do(t, chromedp.Navigate(b.base+path))
}

func (b *browser) waitVisible(t *testing.T, xpath string) {
	t.Helper()
	b.do(t, chromedp.WaitVisible(chromedp.Search(xpath)))
}

// text is what the page shows, as a user reads it.
func (b *browser) text(t *testing.T) string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(page text unreadable: " + err.Error() + ")"
	}
	return s
}

// waitText waits up to a minute for the page to show want.
func (b *browser) waitText(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		text := b.text(t)
		if strings.Contains(text, want) {
			return
		}
		if time.Now().After(deadline) {
			b.screenshot(t, "failed-"+strings.ReplaceAll(t.Name(), "/", "-"))
			t.Fatalf("the page does not show %q after a minute:\n%s", want, text)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// workflowPage matches the address of a field workflow's page; its group
// is the workflow's name.
func workflowPage(ns string) *regexp.Regexp {
	return regexp.MustCompile(`/workflows/` + ns + `/(fieldflow-field-[a-z0-9]+)(\?|$)`)
}

// waitLocation waits up to a minute for the page's address to match re
// with a first group other than not, and returns that group.
func (b *browser) waitLocation(t *testing.T, re *regexp.Regexp, not string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		loc, err := chromedp.Run(b.ctx, chromedp.Location())
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
		if m := re.FindStringSubmatch(loc); m != nil && m[1] != not {
			return m[1]
		}
		if time.Now().After(deadline) {
			b.screenshot(t, "failed-"+strings.ReplaceAll(t.Name(), "/", "-"))
			t.Fatalf("address %s does not match %s after a minute:\n%s", loc, re, b.text(t))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// screenshot saves the whole page as NAME.png.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
