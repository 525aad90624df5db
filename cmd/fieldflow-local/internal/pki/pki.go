// Package pki is the local engine's own certificate authority. The API
// server reaches the process kubelet over TLS, as it reaches a real
// kubelet: the kubelet serves with a certificate this CA signed, and trusts
// only clients with a certificate this CA signed (the API server's). The CA
// and the certificates live in the state folder, created once and reused, so
// that a restarted engine keeps trusting the same files.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// validity of the CA and of the certificates it signs: a local engine's
// state folder outlives no laptop.
const validity = 10 * 365 * 24 * time.Hour

// CA is the local certificate authority.
type CA struct {
	CertFile string // PEM certificate: what a peer trusts
	cert     *x509.Certificate
	key      crypto.Signer
}

// Leaf describes a certificate the CA signs.
type Leaf struct {
	CommonName   string
	Organization []string
	IPs          []net.IP
	DNSNames     []string
	Usage        x509.ExtKeyUsage // server or client authentication
}

// EnsureCA loads the CA from dir (ca.crt, ca.key), creating it the first time.
func EnsureCA(dir string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pki folder: %w", err)
	}
	ca := &CA{CertFile: filepath.Join(dir, "ca.crt")}
	keyFile := filepath.Join(dir, "ca.key")
	cert, key, err := load(ca.CertFile, keyFile)
	if err == nil && cert.IsCA && time.Until(cert.NotAfter) > 24*time.Hour {
		ca.cert, ca.key = cert, key
		return ca, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("load local CA: %w", err)
	}
	if ca.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl := template(pkix.Name{CommonName: "fieldflow-local CA"})
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ca.key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("sign CA certificate: %w", err)
	}
	if ca.cert, err = x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	if err := save(ca.CertFile, keyFile, der, ca.key); err != nil {
		return nil, err
	}
	return ca, nil
}

// Ensure makes certFile and keyFile hold a certificate for leaf signed by
// the CA: the files are reused while the CA still verifies them for the
// leaf's usage and addresses, and reissued otherwise.
func (ca *CA) Ensure(certFile, keyFile string, leaf Leaf) error {
	if cert, _, err := load(certFile, keyFile); err == nil && ca.valid(cert, leaf) {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key for %s: %w", leaf.CommonName, err)
	}
	tmpl := template(pkix.Name{CommonName: leaf.CommonName, Organization: leaf.Organization})
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{leaf.Usage}
	tmpl.IPAddresses, tmpl.DNSNames = leaf.IPs, leaf.DNSNames
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return fmt.Errorf("sign certificate for %s: %w", leaf.CommonName, err)
	}
	return save(certFile, keyFile, der, key)
}

// Pool is a certificate pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// valid says whether cert is the CA's, for leaf's usage and names, and
// not about to expire.
func (ca *CA) valid(cert *x509.Certificate, leaf Leaf) bool {
	opts := x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{leaf.Usage}}
	if _, err := cert.Verify(opts); err != nil || time.Until(cert.NotAfter) < 24*time.Hour {
		return false
	}
	if cert.Subject.CommonName != leaf.CommonName {
		return false
	}
	for _, ip := range leaf.IPs {
		if cert.VerifyHostname(ip.String()) != nil {
			return false
		}
	}
	for _, name := range leaf.DNSNames {
		if cert.VerifyHostname(name) != nil {
			return false
		}
	}
	return true
}

func template(subject pkix.Name) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    now.Add(-time.Hour), // clock skew between processes is none, but a suspended laptop's is
		NotAfter:     now.Add(validity),
	}
}

// load reads a PEM certificate and its PKCS#8 key.
func load(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, fmt.Errorf("%s or %s holds no PEM block", certFile, keyFile)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", certFile, err)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", keyFile, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not a signing key", keyFile)
	}
	return cert, signer, nil
}

// save writes the certificate (0644) and its key (0600).
func save(certFile, keyFile string, der []byte, key crypto.Signer) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", keyFile, err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", certFile, err)
	}
	return nil
}
