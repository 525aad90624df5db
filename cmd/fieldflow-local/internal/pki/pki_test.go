package pki

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

var loopback = []net.IP{net.ParseIP("127.0.0.1")}

// TestReuse: a second start finds the same CA and certificates; a changed
// request or a new CA issues again.
func TestReuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	ca := mustCA(t, dir)
	first := mustServer(t, ca, loopback)
	again := mustCA(t, dir)
	if !again.Cert().Equal(ca.Cert()) {
		t.Fatal("second LoadOrCreate made a new CA")
	}
	for _, tc := range []struct {
		name  string
		issue func() Pair
		same  bool
	}{
		{"same request", func() Pair { return mustServer(t, again, loopback) }, true},
		{"other address", func() Pair { return mustServer(t, again, []net.IP{net.ParseIP("127.0.0.2")}) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := read(t, first.CertFile)
			after := read(t, tc.issue().CertFile)
			if bytes.Equal(before, after) != tc.same {
				t.Errorf("certificate unchanged: %v, want %v", bytes.Equal(before, after), tc.same)
			}
		})
	}
	// A CA that is replaced invalidates what the old one signed.
	if err := os.Remove(ca.KeyFile); err != nil {
		t.Fatal(err)
	}
	fresh := mustCA(t, dir)
	if fresh.Cert().Equal(ca.Cert()) {
		t.Fatal("CA without its key was reused")
	}
	p := mustServer(t, fresh, []net.IP{net.ParseIP("127.0.0.2")})
	cert, _, err := loadPair(p.CertFile, p.KeyFile)
	if err != nil || !fresh.signed(cert) {
		t.Errorf("certificate not reissued by the new CA: %v", err)
	}
}

// TestPermissions: the folder is 0700 even when it existed wider, keys
// are 0600.
func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ca := mustCA(t, dir)
	client, err := ca.Client("client", "someone", "group")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, ca.KeyFile: 0o600, client.KeyFile: 0o600, client.CertFile: 0o644} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), st.Mode(), want)
		}
	}
}

// TestMutualTLS: a server with the issued certificate that asks for client
// certificates accepts the issued client and refuses one without.
func TestMutualTLS(t *testing.T) {
	ca := mustCA(t, t.TempDir())
	server := mustServer(t, ca, loopback)
	client, err := ca.Client("client", "someone", "group")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{keyPair(t, server)}, ClientCAs: ca.Pool(), ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	defer srv.Close()
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		want  string // "" for refused
	}{
		{"with client certificate", []tls.Certificate{keyPair(t, client)}, "someone"},
		{"without", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: tc.certs}}}
			resp, err := c.Get(srv.URL)
			got := ""
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				got = string(b)
			}
			if got != tc.want {
				t.Errorf("got %q (err %v), want %q", got, err, tc.want)
			}
		})
	}
}

func mustCA(t *testing.T, dir string) *CA {
	t.Helper()
	ca, err := LoadOrCreate(dir, "test CA")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustServer(t *testing.T, ca *CA, ips []net.IP) Pair {
	t.Helper()
	p, err := ca.Server("server", ips, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func keyPair(t *testing.T, p Pair) tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
