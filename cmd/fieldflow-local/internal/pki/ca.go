// Package pki keeps a small local certificate authority in a folder: its
// certificate and key, and the server and client certificates it issues.
// Files are created once and reused across restarts while they are valid,
// so that components keep trusting each other; keys are 0600 in a 0700
// folder, readable by this user only.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"
)

// Validity of what a CA creates. Renewal is early: a certificate that
// expires within renewBefore is issued again on the next start.
const (
	caValidity   = 10 * 365 * 24 * time.Hour
	certValidity = 365 * 24 * time.Hour
	renewBefore  = 30 * 24 * time.Hour
)

// CA is a certificate authority loaded from, or created in, a folder.
type CA struct {
	Dir      string // the folder, 0700
	CertFile string // PEM certificate: what peers trust
	KeyFile  string // PEM private key, 0600
	cert     *x509.Certificate
	key      crypto.Signer
}

// LoadOrCreate returns the CA in dir, creating the folder and a new CA
// (common name cn) when there is none or it is no longer valid.
func LoadOrCreate(dir, cn string) (*CA, error) {
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	ca := &CA{Dir: dir}
	own := ca.pair("ca")
	ca.CertFile, ca.KeyFile = own.CertFile, own.KeyFile
	cert, key, err := loadPair(ca.CertFile, ca.KeyFile)
	if err == nil && cert.IsCA && fresh(cert) {
		ca.cert, ca.key = cert, key
		return ca, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("load CA in %s: %w", dir, err)
	}
	if err := ca.create(cn); err != nil {
		return nil, fmt.Errorf("create CA in %s: %w", dir, err)
	}
	return ca, nil
}

// create makes a self-signed CA and saves it.
func (ca *CA) create(cn string) error {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, key, err := sign(tmpl, caValidity, nil, nil)
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	if err := savePair(ca.CertFile, ca.KeyFile, der, key); err != nil {
		return err
	}
	ca.cert, ca.key = cert, key
	return nil
}

// sign gives tmpl a new key, a serial number and validity from an hour
// ago, and signs it with parent and parentKey, or with its own key when
// parent is nil (a self-signed CA). It returns the certificate, DER
// encoded, and the new key.
func sign(tmpl *x509.Certificate, validity time.Duration, parent *x509.Certificate, parentKey crypto.Signer) ([]byte, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)); err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(validity)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, err
	}
	return der, key, nil
}

// Cert is the CA's certificate.
func (ca *CA) Cert() *x509.Certificate { return ca.cert }

// Pool is a certificate pool holding only this CA: what a client or a
// server verifying client certificates trusts.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// fresh says whether cert is valid now and for longer than renewBefore.
func fresh(cert *x509.Certificate) bool {
	now := time.Now()
	return now.After(cert.NotBefore) && now.Add(renewBefore).Before(cert.NotAfter)
}
