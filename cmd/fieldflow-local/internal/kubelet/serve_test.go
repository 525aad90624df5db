package kubelet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/pki"
)

// servedKubelet serves a kubelet with one finished pod "p" whose main
// container logged two lines, and a pod "elsewhere" of another node.
func servedKubelet(t *testing.T) (addr string, files pki.KubeletFiles, k *Kubelet) {
	t.Helper()
	files, err := pki.EnsureKubelet(filepath.Join(t.TempDir(), "pki"))
	if err != nil {
		t.Fatal(err)
	}
	pod := func(name, node string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
			Spec: corev1.PodSpec{
				NodeName:       node,
				InitContainers: []corev1.Container{{Name: "init"}},
				Containers:     []corev1.Container{{Name: "wait"}, {Name: mainContainer}},
			},
		}
	}
	k = &Kubelet{
		Kube:      fake.NewClientset(pod("p", "local"), pod("elsewhere", "other")),
		Namespace: "ns", Node: "local", WorkDir: t.TempDir(), Log: slog.New(slog.DiscardHandler),
	}
	os.MkdirAll(filepath.Join(k.WorkDir, "p"), 0o755)
	writeLog(t, filepath.Join(k.WorkDir, "p", containerLogName), time.Now(), 2)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addr, err = k.Serve(ctx, Serving{Addr: "127.0.0.1:0", CertFile: files.ServingCert, KeyFile: files.ServingKey,
		ClientCAFile: files.CAFile, ClientName: pki.APIServerClientName})
	if err != nil {
		t.Fatal(err)
	}
	return addr, files, k
}

// client is an HTTPS client that trusts the local CA and presents the
// given certificate, if any.
func client(t *testing.T, caFile string, certs ...tls.Certificate) *http.Client {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs},
	}}
}

// TestServeContainerLogs calls the kubelet as the API server does.
func TestServeContainerLogs(t *testing.T) {
	addr, files, k := servedKubelet(t)
	pair, err := tls.LoadX509KeyPair(files.ClientCert, files.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, files.CAFile, pair)
	for _, tc := range []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/containerLogs/ns/p/main", 200, "out 0\nerr 1\n"},
		{"/containerLogs/ns/p/main?tailLines=1", 200, "err 1\n"},
		{"/containerLogs/ns/p/main?follow=true&limitBytes=3", 200, "out"},
		{"/containerLogs/ns/p/wait", 200, ""},
		{"/containerLogs/ns/p/init", 200, ""},
		{"/containerLogs/ns/p/nope", 404, ""},
		{"/containerLogs/ns/missing/main", 404, ""},
		{"/containerLogs/ns/elsewhere/main", 404, ""},
		{"/containerLogs/ns/p/main?previous=true", 400, ""},
		{"/containerLogs/ns/p/main?tailLines=x", 400, ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := c.Get("https://" + addr + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus || (tc.wantStatus == 200 && string(body) != tc.wantBody) {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
	node, err := k.Kube.CoreV1().Nodes().Get(context.Background(), "local", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := node.Status.DaemonEndpoints.KubeletEndpoint.Port; strconv.Itoa(int(p)) != addr[len("127.0.0.1:"):] {
		t.Errorf("node's kubelet port %d, serving on %s", p, addr)
	}
}

// TestServeRefusesOtherClients wants the TLS handshake refused without a
// client certificate or with one of another CA, and 403 for a certificate
// of the CA that does not name the API server.
func TestServeRefusesOtherClients(t *testing.T) {
	addr, files, _ := servedKubelet(t)
	other, err := pki.EnsureKubelet(filepath.Join(t.TempDir(), "other"))
	if err != nil {
		t.Fatal(err)
	}
	otherPair, _ := tls.LoadX509KeyPair(other.ClientCert, other.ClientKey)
	servingPair, _ := tls.LoadX509KeyPair(files.ServingCert, files.ServingKey) // the CA's, but no client certificate
	ca, err := pki.LoadOrCreate(filepath.Dir(files.CAFile), "unused: the CA exists")
	if err != nil {
		t.Fatal(err)
	}
	someone, err := ca.Client("someone", "someone")
	if err != nil {
		t.Fatal(err)
	}
	someonePair, _ := tls.LoadX509KeyPair(someone.CertFile, someone.KeyFile)
	for _, tc := range []struct {
		name       string
		certs      []tls.Certificate
		wantStatus int // 0: the request fails
	}{
		{"no certificate", nil, 0},
		{"another CA", []tls.Certificate{otherPair}, 0},
		{"not for clients", []tls.Certificate{servingPair}, 0},
		{"not the API server", []tls.Certificate{someonePair}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := client(t, files.CAFile, tc.certs...).Get("https://" + addr + "/containerLogs/ns/p/main")
			if err == nil {
				resp.Body.Close()
			}
			switch {
			case tc.wantStatus == 0 && err == nil:
				t.Errorf("status %d, want the request refused", resp.StatusCode)
			case tc.wantStatus != 0 && (err != nil || resp.StatusCode != tc.wantStatus):
				t.Errorf("got %v, want status %d", err, tc.wantStatus)
			}
		})
	}
}
