package apiserver

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Files are the credentials the API server reads, kept in its state folder so
// that a restart keeps the same token, keys and serving certificate.
type Files struct {
	Dir        string // the API server's state folder
	CertDir    string // --cert-dir: the self-signed serving certificate
	TokenFile  string // --token-auth-file
	SAKeyFile  string // service account signing key (RSA, PEM)
	AdminToken string // bearer token of the admin user (group system:masters)
}

// AdminUser is the user the admin token authenticates as.
const AdminUser = "fieldflow-admin"

// prepareFiles creates (or reuses) the token, token file and service account key.
func prepareFiles(dir string) (*Files, error) {
	f := &Files{
		Dir:       dir,
		CertDir:   filepath.Join(dir, "certs"),
		TokenFile: filepath.Join(dir, "tokens.csv"),
		SAKeyFile: filepath.Join(dir, "sa.key"),
	}
	if err := os.MkdirAll(f.CertDir, 0o700); err != nil {
		return nil, fmt.Errorf("create cert dir: %w", err)
	}
	token, err := ensureToken(filepath.Join(dir, "admin.token"))
	if err != nil {
		return nil, err
	}
	f.AdminToken = token
	line := fmt.Sprintf("%s,%s,%s,\"system:masters\"\n", token, AdminUser, AdminUser)
	if err := os.WriteFile(f.TokenFile, []byte(line), 0o600); err != nil {
		return nil, fmt.Errorf("write token file: %w", err)
	}
	if err := ensureRSAKey(f.SAKeyFile); err != nil {
		return nil, err
	}
	return f, nil
}

func ensureToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate admin token: %w", err)
	}
	token := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return token, nil
}

func ensureRSAKey(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate service account key: %w", err)
	}
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return fmt.Errorf("write service account key: %w", err)
	}
	return nil
}

// CACert returns, PEM encoded, the CA certificate that signed the API server's
// self-signed serving certificate (the last CA in apiserver.crt).
func (f *Files) CACert() ([]byte, error) {
	path := filepath.Join(f.CertDir, "apiserver.crt")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read serving certificate: %w", err)
	}
	var ca []byte
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		if cert.IsCA {
			ca = pem.EncodeToMemory(block)
		}
	}
	if ca == nil {
		return nil, fmt.Errorf("no CA certificate in %s", path)
	}
	return ca, nil
}
