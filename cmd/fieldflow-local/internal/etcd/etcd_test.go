package etcd

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/pki"
)

// TestOnlyTheEngineGetsIn starts etcd as the engine does, with a secret in
// it, and tries it as a process on the machine would: a raw client without
// a certificate, over plain HTTP or TLS, and the HTTP gateway's range over
// every key. Only the client with the engine's certificate reads the key.
func TestOnlyTheEngineGetsIn(t *testing.T) {
	ca, err := pki.LoadOrCreate(filepath.Join(t.TempDir(), "pki"), "test CA")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(t.Context(), Options{Dir: filepath.Join(t.TempDir(), "etcd"), ClientPort: freePort(t), PeerPort: freePort(t), CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	certs, err := ClientCert(ca)
	if err != nil {
		t.Fatal(err)
	}
	engine := clientTLS(t, ca, certs)
	put(t, s.ClientURL, engine, "/registry/secrets/fieldflow/aws", "AKIA-secret")
	plain := strings.Replace(s.ClientURL, "https://", "http://", 1)
	noCert := &tls.Config{RootCAs: ca.Pool()}

	for _, tc := range []struct {
		name string
		get  func() (string, error)
		want bool // the secret is read
	}{
		{"client v3 with the engine's certificate", func() (string, error) { return get(s.ClientURL, engine) }, true},
		{"client v3 over plain HTTP", func() (string, error) { return get(plain, nil) }, false},
		{"client v3 over TLS without a certificate", func() (string, error) { return get(s.ClientURL, noCert) }, false},
		{"gateway range with the engine's certificate", func() (string, error) { return gatewayRange(s.ClientURL, engine) }, true},
		{"gateway range over plain HTTP", func() (string, error) { return gatewayRange(plain, nil) }, false},
		{"gateway range over TLS without a certificate", func() (string, error) { return gatewayRange(s.ClientURL, noCert) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.get()
			read := err == nil && strings.Contains(got, "AKIA-secret")
			if read != tc.want {
				t.Errorf("read the secret: %v, want %v (got %.200q, err %v)", read, tc.want, got, err)
			}
		})
	}
}

func clientTLS(t *testing.T, ca *pki.CA, p pki.Pair) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert}}
}

func put(t *testing.T, url string, cfg *tls.Config, key, value string) {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, TLS: cfg, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, key, value); err != nil {
		t.Fatalf("put with the engine's certificate: %v", err)
	}
}

// get reads every key, as a raw client would.
func get(url string, cfg *tls.Config) (string, error) {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, TLS: cfg, DialTimeout: 2 * time.Second})
	if err != nil {
		return "", err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := c.Get(ctx, "", clientv3.WithFromKey())
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, kv := range resp.Kvs {
		fmt.Fprintf(&out, "%s=%s\n", kv.Key, kv.Value)
	}
	return out.String(), nil
}

// gatewayRange posts to etcd's HTTP gateway a range over every key (key
// and range_end "\0", base64 "AA==").
func gatewayRange(url string, cfg *tls.Config) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := c.Post(url+"/v3/kv/range", "application/json", strings.NewReader(`{"key":"AA==","range_end":"AA=="}`))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status %s", resp.Status)
	}
	// Values come base64 encoded: decode what the test looks for.
	return string(b) + decodeValues(string(b)), err
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// decodeValues decodes the base64 values of a gateway range response.
func decodeValues(body string) string {
	var resp struct {
		Kvs []struct{ Value []byte } `json:"kvs"`
	}
	if json.Unmarshal([]byte(body), &resp) != nil {
		return ""
	}
	var out strings.Builder
	for _, kv := range resp.Kvs {
		out.Write(kv.Value)
		out.WriteByte('\n')
	}
	return out.String()
}
