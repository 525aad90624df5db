package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// secretValue stands for the user's AWS keys: no pod may read it.
const secretValue = "AKIA-lockdown-secret"

// lockCase is a Workflow the engine must fail, and the message it must
// fail with.
type lockCase struct {
	name string
	spec wfv1.WorkflowSpec
	want string // in the failed node's message; "" for a Workflow that succeeds
}

// TestLockdown runs on one engine (`fieldflow-local run`) what a process
// on the machine could try against it: read etcd without the engine's
// certificate, and submit Workflows whose pods run a shell, read a file
// outside their folder as an output, or create objects in another
// namespace or of a kind their service account may not create.
func TestLockdown(t *testing.T) {
	local, _ := binaries(t)
	state := filepath.Join(t.TempDir(), "state")
	w := startWatch(t, local, state, nil, "--store", t.TempDir())
	t.Run("etcd", func(t *testing.T) { checkEtcd(t, w, state) })

	tmp := t.TempDir()
	marker := filepath.Join(tmp, "marker")
	secret := filepath.Join(tmp, "aws-keys")
	if err := os.WriteFile(secret, []byte(secretValue), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []lockCase{
		{"shell", container([]string{"sh", "-c", "touch " + marker}, nil, wfv1.Outputs{}),
			`container "main": "sh" not found on the PATH of image fieldflow:0.1.0`},
		{"output outside the volumes", container([]string{"fieldflow", "help"}, nil, outputAt(secret)),
			"is in no volume of the pod"},
		{"output through dot-dot", container([]string{"fieldflow", "help"}, scratch(), outputAt("/scratch/"+strings.Repeat("../", 30)+strings.TrimPrefix(secret, "/"))),
			"path escapes from parent"},
		{"workflow in another namespace", resource(`{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"generateName":"x-","namespace":"default"},"spec":{"entrypoint":"main","templates":[{"name":"main","suspend":{}}]}}`),
			`fieldflow-local performs resource templates only in the pod's namespace "fieldflow"`},
		{"configmap", resource(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"x-"},"data":{"a":"b"}}`),
			`configmaps is forbidden: User "system:serviceaccount:fieldflow:fieldflow-workflow" cannot create resource "configmaps"`},
		// Since the submits run in the executor plugin, as its own account,
		// a workflow's pods may create no Workflows.
		{"workflow as its service account", resource(`{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"generateName":"child-"},"spec":{"entrypoint":"main","templates":[{"name":"main","suspend":{"duration":"1"}}]}}`),
			`workflows.argoproj.io is forbidden: User "system:serviceaccount:fieldflow:fieldflow-workflow" cannot create resource "workflows"`},
		// Argo's agent runs only in an agent pod, never as a workflow step.
		{"argoexec", container([]string{"argoexec", "agent", "main"}, nil, wfv1.Outputs{}),
			`container "main": "argoexec" not found on the PATH of image fieldflow:0.1.0`},
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	byName := map[string]lockCase{}
	for _, c := range cases {
		wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{GenerateName: "lockdown-"}, Spec: c.spec}
		wf, err := w.argo.ArgoprojV1alpha1().Workflows(w.ns).Create(ctx, wf, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("%s: create Workflow: %v", c.name, err)
		}
		byName[wf.Name] = c
	}
	start := time.Now()
	done := waitCompleted(ctx, t, w, byName)
	t.Logf("%d workflows completed after %s", len(done), time.Since(start).Round(time.Second))
	for name, c := range byName {
		t.Run(c.name, func(t *testing.T) { checkLocked(t, done[name], c) })
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the shell ran: %s exists (%v)", marker, err)
	}
}

// checkLocked wants the Workflow Failed with the case's message and the
// secret nowhere in its status, or Succeeded for a case without message.
func checkLocked(t *testing.T, wf *wfv1.Workflow, c lockCase) {
	status, _ := json.Marshal(wf.Status)
	if strings.Contains(string(status), secretValue) {
		t.Errorf("workflow %s: the secret is in its status", wf.Name)
	}
	if c.want == "" {
		if wf.Status.Phase != wfv1.WorkflowSucceeded {
			t.Errorf("workflow %s: %s, want Succeeded: %s", wf.Name, wf.Status.Phase, messages(wf))
		}
		return
	}
	if wf.Status.Phase != wfv1.WorkflowFailed {
		t.Errorf("workflow %s: %s, want Failed", wf.Name, wf.Status.Phase)
	}
	if got := messages(wf); !strings.Contains(got, c.want) {
		t.Errorf("workflow %s: messages %q, want one containing %q", wf.Name, got, c.want)
	}
}

func messages(wf *wfv1.Workflow) string {
	out := []string{wf.Status.Message}
	for _, n := range wf.Status.Nodes {
		out = append(out, n.Message)
	}
	return strings.Join(out, " | ")
}

func waitCompleted(ctx context.Context, t *testing.T, w *watcher, names map[string]lockCase) map[string]*wfv1.Workflow {
	t.Helper()
	for {
		done := map[string]*wfv1.Workflow{}
		for _, wf := range w.workflows(ctx) {
			if _, ok := names[wf.Name]; ok && wf.Status.Phase.Completed() {
				done[wf.Name] = &wf
			}
		}
		if len(done) == len(names) {
			return done
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d workflows completed\n%s", len(done), len(names), w.tail())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func container(command []string, mounts []corev1.VolumeMount, outputs wfv1.Outputs) wfv1.WorkflowSpec {
	spec := wfv1.WorkflowSpec{
		Entrypoint: "main",
		Templates: []wfv1.Template{{
			Name:      "main",
			Container: &corev1.Container{Image: "fieldflow:0.1.0", Command: command, VolumeMounts: mounts},
			Outputs:   outputs,
		}},
	}
	if len(mounts) > 0 {
		spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	}
	return spec
}

func scratch() []corev1.VolumeMount {
	return []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}
}

func outputAt(path string) wfv1.Outputs {
	return wfv1.Outputs{Parameters: []wfv1.Parameter{{Name: "keys", ValueFrom: &wfv1.ValueFrom{Path: path}}}}
}

// resource is a Workflow of one resource template creating manifest, run
// as the generated workflow service account.
func resource(manifest string) wfv1.WorkflowSpec {
	return wfv1.WorkflowSpec{
		Entrypoint:         "main",
		ServiceAccountName: "fieldflow-workflow",
		Templates: []wfv1.Template{{
			Name:     "main",
			Resource: &wfv1.ResourceTemplate{Action: "create", Manifest: manifest},
		}},
	}
}

// checkEtcd stores a Secret through the API server and tries to read it
// from the engine's etcd as another process on the machine would, and as
// the API server does.
func checkEtcd(t *testing.T, w *watcher, state string) {
	cfg, _ := clientConfig(t, names.Kubeconfig(state))
	kube := kubernetes.NewForConfigOrDie(cfg)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "aws-keys"}, StringData: map[string]string{"AWS_SECRET_ACCESS_KEY": secretValue}}
	if _, err := kube.CoreV1().Secrets(w.ns).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	key := "/registry/secrets/" + w.ns + "/aws-keys"
	var ports struct{ EtcdClient int }
	b, err := os.ReadFile(filepath.Join(state, "ports.json"))
	if err == nil {
		err = json.Unmarshal(b, &ports)
	}
	if err != nil || ports.EtcdClient == 0 {
		t.Fatalf("etcd port from ports.json: %v", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports.EtcdClient)
	pki := filepath.Join(state, "pki")
	ca := x509.NewCertPool()
	if b, err := os.ReadFile(filepath.Join(pki, "ca.crt")); err != nil || !ca.AppendCertsFromPEM(b) {
		t.Fatalf("engine CA: %v", err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "apiserver-etcd-client.crt"), filepath.Join(pki, "apiserver-etcd-client.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		read func() (string, error)
		want bool
	}{
		{"with the API server's certificate", func() (string, error) {
			return etcdGet("https://"+addr, &tls.Config{RootCAs: ca, Certificates: []tls.Certificate{cert}}, key)
		}, true},
		{"plain HTTP", func() (string, error) { return etcdGet("http://"+addr, nil, key) }, false},
		{"TLS without a certificate", func() (string, error) { return etcdGet("https://"+addr, &tls.Config{RootCAs: ca}, key) }, false},
		{"gateway range over plain HTTP", func() (string, error) {
			resp, err := http.Post("http://"+addr+"/v3/kv/range", "application/json", strings.NewReader(`{"key":"AA==","range_end":"AA=="}`))
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			var body struct{ Kvs []struct{ Value []byte } }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				return "", fmt.Errorf("status %s: %w", resp.Status, err)
			}
			var values strings.Builder
			for _, kv := range body.Kvs {
				values.Write(kv.Value)
			}
			return values.String(), nil
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.read()
			if read := err == nil && strings.Contains(got, secretValue); read != tc.want {
				t.Errorf("read the Secret: %v, want %v (err %v)", read, tc.want, err)
			}
		})
	}
}

// etcdGet reads a key with a raw etcd client.
func etcdGet(url string, cfg *tls.Config, key string) (string, error) {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, TLS: cfg, DialTimeout: 2 * time.Second})
	if err != nil {
		return "", err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := c.Get(ctx, key)
	if err != nil {
		return "", err
	}
	if len(resp.Kvs) == 0 {
		return "", fmt.Errorf("no key %s", key)
	}
	return string(resp.Kvs[0].Value), nil
}
