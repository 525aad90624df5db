package pki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// TestEnsureKubeletReuses creates the files once, with private keys only
// the owner reads, and a second call keeps them: a restarted engine must
// trust what it trusted before.
func TestEnsureKubeletReuses(t *testing.T) {
	dir := t.TempDir()
	first, err := EnsureKubelet(dir)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, p := range []string{first.CAFile, first.ServingCert, first.ServingKey, first.ClientCert, first.ClientKey} {
		before[p], _ = os.ReadFile(p)
	}
	for _, key := range []string{first.ServingKey, first.ClientKey, filepath.Join(dir, "ca.key")} {
		st, err := os.Stat(key)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, err %v; want 0600", key, st.Mode().Perm(), err)
		}
	}
	second, err := EnsureKubelet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Errorf("paths changed: %+v then %+v", first, second)
	}
	for p, b := range before {
		if now, _ := os.ReadFile(p); string(now) != string(b) {
			t.Errorf("%s was rewritten", p)
		}
	}
}

// TestKubeletCertificates checks what the API server and the kubelet
// verify: the serving certificate for 127.0.0.1, the client certificate
// for client authentication, both from the CA.
func TestKubeletCertificates(t *testing.T) {
	f, err := EnsureKubelet(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(f.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	for _, tc := range []struct {
		name      string
		cert, key string
		opts      x509.VerifyOptions
	}{
		{"serving", f.ServingCert, f.ServingKey, x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1"}},
		{"client", f.ClientCert, f.ClientKey, x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pair, err := tls.LoadX509KeyPair(tc.cert, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pair.Leaf.Verify(tc.opts); err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}
