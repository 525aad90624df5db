package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/pki"
)

// argoBinary is Argo's own CLI: FIELDFLOW_ARGO_BIN, or else `argo` beside
// FIELDFLOW_LOCAL_BIN, where `make local` builds it.
func argoBinary(t *testing.T) string {
	t.Helper()
	local, _ := binaries(t)
	bin := os.Getenv("FIELDFLOW_ARGO_BIN")
	if bin == "" {
		bin = filepath.Join(filepath.Dir(local), "argo")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("Argo's CLI %s is missing: run `make local` (it builds .cache/bin/argo) or set FIELDFLOW_ARGO_BIN: %v", bin, err)
	}
	return bin
}

// client runs a CLI against the engine and returns its combined output.
func (e *upEngine) client(t *testing.T, timeout time.Duration, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = e.env()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// boxRun is one fieldflow-box workflow submitted with argo, shared by the
// tests that read it.
type boxRun struct {
	key      string
	workflow string
	output   string        // of argo submit --watch
	took     time.Duration // submit to Succeeded
	err      error
}

var (
	boxOnce   sync.Once
	boxShared boxRun
)

// submittedBox submits the sample's box once per test binary:
// argo submit -n fieldflow --from workflowtemplate/fieldflow-box -p key=K --watch.
func submittedBox(t *testing.T) (*upEngine, boxRun) {
	t.Helper()
	e, argo := sharedUp(t), argoBinary(t)
	boxOnce.Do(func() {
		r := boxRun{key: e.boxKey(t)}
		t0 := time.Now()
		r.output, r.err = e.client(t, 5*time.Minute, argo, "submit", "-n", e.namespace,
			"--from", "workflowtemplate/fieldflow-box", "-p", "key="+r.key, "--watch")
		r.took = time.Since(t0)
		if m := regexp.MustCompile(`(?m)^Name:\s+(\S+)`).FindStringSubmatch(r.output); m != nil {
			r.workflow = m[1]
		}
		boxShared = r
	})
	if boxShared.workflow == "" {
		t.Fatalf("argo submit named no workflow (%v):\n%s\nengine log:\n%s", boxShared.err, boxShared.output, e.tail(30))
	}
	return e, boxShared
}

// TestArgoCLI drives Argo's own CLI against `fieldflow-local up`: submit
// from the generated template and watch it succeed, then list, get and
// logs, which shows what the process step printed for the key; and lint
// of the generated templates.
func TestArgoCLI(t *testing.T) {
	e, box := submittedBox(t)
	argo := argoBinary(t)
	t.Logf("engine up in %s; argo submit --watch took %s", e.startup.Round(time.Millisecond), box.took.Round(time.Millisecond))
	if box.err != nil || !regexp.MustCompile(`(?m)^Status:\s+Succeeded`).MatchString(box.output) {
		t.Fatalf("argo submit --watch: %v, want exit 0 and Status Succeeded:\n%s\nengine log:\n%s", box.err, box.output, e.tail(30))
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"list", "-n", e.namespace}, []string{box.workflow, "Succeeded"}},
		{[]string{"get", "-n", e.namespace, box.workflow}, []string{"Succeeded", "process", "release", box.key}},
		{[]string{"get", "-n", e.namespace, "@latest"}, []string{"Name:"}},
		{[]string{"logs", "-n", e.namespace, box.workflow}, []string{`"key":"` + box.key + `"`, `"state":"done"`}},
		// The generated templates, plugin nodes and all, as Argo's own lint judges them.
		{[]string{"lint", "--offline", "../../../../templates/"}, []string{"no linting errors found"}},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			out, err := e.client(t, time.Minute, argo, tc.args...)
			if err != nil {
				t.Fatalf("argo %v: %v\n%s", tc.args, err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("argo %v does not print %q:\n%s", tc.args, w, out)
				}
			}
		})
	}
}

// TestKubectlLogs reads the process pod's main container through the API
// server's log proxy, which calls the process kubelet: the whole log, the
// last line, and the first bytes.
func TestKubectlLogs(t *testing.T) {
	e, box := submittedBox(t)
	pod := processPod(t, e, box.workflow)
	kubectl := func(args ...string) string {
		t.Helper()
		args = append([]string{"logs", "-n", e.namespace, pod, "-c", "main"}, args...)
		out, err := e.client(t, time.Minute, "kubectl", args...)
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return out
	}
	all := kubectl()
	if !strings.Contains(all, `"key":"`+box.key+`"`) || !strings.Contains(all, `"state":"done"`) {
		t.Errorf("kubectl logs %s -c main does not show the result for %s:\n%s", pod, box.key, all)
	}
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	if last := kubectl("--tail=1"); last != lines[len(lines)-1]+"\n" {
		t.Errorf("--tail=1: %q, want the last line %q", last, lines[len(lines)-1])
	}
	if head := kubectl("--limit-bytes=7"); head != all[:7] {
		t.Errorf("--limit-bytes=7: %q, want %q", head, all[:7])
	}
	if stamped := kubectl("--timestamps", "--tail=1"); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\S+Z \{`).MatchString(stamped) {
		t.Errorf("--timestamps: %q, want an RFC 3339 time before the line", stamped)
	}
	if wait := kubectl("-c", "wait"); wait != "" {
		t.Errorf("the wait container logged %q; it does not run locally", wait)
	}
}

// processPod is the pod of the workflow's process step: Argo names a
// pod <workflow>-<template>-<hash>.
func processPod(t *testing.T, e *upEngine, workflow string) string {
	t.Helper()
	out, err := e.client(t, time.Minute, "kubectl", "get", "pods", "-n", e.namespace,
		"-l", "workflows.argoproj.io/workflow="+workflow, "-o", "name")
	if err != nil {
		t.Fatalf("kubectl get pods: %v\n%s", err, out)
	}
	for _, line := range strings.Fields(out) {
		if name := strings.TrimPrefix(line, "pod/"); strings.HasPrefix(name, workflow+"-process-") {
			return name
		}
	}
	t.Fatalf("no process pod of %s among:\n%s", workflow, out)
	return ""
}

// TestKubeletLogs calls the process kubelet's API directly, at the port
// its Node names: without the API server's client certificate the TLS
// handshake is refused; with it, an unknown pod is 404 and the process
// pod's log is served.
func TestKubeletLogs(t *testing.T) {
	e, box := submittedBox(t)
	cfg, _ := clientConfig(t, e.kubeconfig)
	node, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Nodes().Get(t.Context(), "local", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("node local: %v", err)
	}
	base := fmt.Sprintf("https://127.0.0.1:%d/containerLogs/%s/", node.Status.DaemonEndpoints.KubeletEndpoint.Port, e.namespace)
	files := pki.KubeletPaths(filepath.Join(e.state, "pki")) // the engine's
	other, err := pki.EnsureKubelet(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	apiserver, _ := tls.LoadX509KeyPair(files.ClientCert, files.ClientKey)
	stranger, _ := tls.LoadX509KeyPair(other.ClientCert, other.ClientKey)
	pod := processPod(t, e, box.workflow)
	for _, tc := range []struct {
		name       string
		certs      []tls.Certificate
		path       string
		wantStatus int    // 0: refused before any HTTP status
		wantBody   string // contained in the body
	}{
		{"no client certificate", nil, pod + "/main", 0, ""},
		{"certificate of another CA", []tls.Certificate{stranger}, pod + "/main", 0, ""},
		{"unknown pod", []tls.Certificate{apiserver}, "no-such-pod/main", http.StatusNotFound, "does not exist"},
		{"process pod", []tls.Certificate{apiserver}, pod + "/main?tailLines=1", http.StatusOK, `"key":"` + box.key + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, err := kubeletGet(t, files.CAFile, tc.certs, base+tc.path)
			switch {
			case tc.wantStatus == 0 && err == nil:
				t.Errorf("served %d %q without the API server's certificate", status, body)
			case tc.wantStatus == 0:
				t.Logf("refused: %v", err)
			case err != nil || status != tc.wantStatus || !strings.Contains(body, tc.wantBody):
				t.Errorf("got %d %q (%v), want %d with %q", status, body, err, tc.wantStatus, tc.wantBody)
			}
		})
	}
}

func kubeletGet(t *testing.T, caFile string, certs []tls.Certificate, url string) (int, string, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs},
	}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
