package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
)

// Spec is what an issued certificate says: who it names and what it may
// be used for.
type Spec struct {
	CommonName    string
	Organizations []string // client certificates: groups, to the Kubernetes API server
	IPs           []net.IP
	DNSNames      []string
	Usages        []x509.ExtKeyUsage
}

// Pair names the files of an issued certificate and its key.
type Pair struct {
	CertFile string
	KeyFile  string
}

// Server issues (or reuses) name.crt and name.key, a serving certificate
// for the given addresses.
func (ca *CA) Server(name string, ips []net.IP, dnsNames ...string) (Pair, error) {
	return ca.Issue(name, Spec{
		CommonName: name, IPs: ips, DNSNames: dnsNames,
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// Client issues (or reuses) name.crt and name.key, a client certificate
// for user cn in groups orgs.
func (ca *CA) Client(name, cn string, orgs ...string) (Pair, error) {
	return ca.Issue(name, Spec{
		CommonName: cn, Organizations: orgs,
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// pair names name.crt and name.key in the CA's folder.
func (ca *CA) pair(name string) Pair {
	return Pair{CertFile: filepath.Join(ca.Dir, name+".crt"), KeyFile: filepath.Join(ca.Dir, name+".key")}
}

// Issue writes name.crt and name.key in the CA's folder, signed by the CA,
// unless files there already match spec, were signed by this CA and stay
// valid for a while: then they are kept, so that a restart changes nothing.
func (ca *CA) Issue(name string, spec Spec) (Pair, error) {
	p := ca.pair(name)
	cert, _, err := loadPair(p.CertFile, p.KeyFile)
	if err == nil && ca.signed(cert) && fresh(cert) && matches(cert, spec) {
		return p, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return p, fmt.Errorf("load certificate %s: %w", name, err)
	}
	if err := ca.issue(p, spec); err != nil {
		return p, fmt.Errorf("issue certificate %s: %w", name, err)
	}
	return p, nil
}

func (ca *CA) issue(p Pair, spec Spec) error {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: spec.CommonName, Organization: spec.Organizations},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: spec.Usages,
		IPAddresses: spec.IPs,
		DNSNames:    spec.DNSNames,
	}
	der, key, err := sign(tmpl, certValidity, ca.cert, ca.key)
	if err != nil {
		return err
	}
	return savePair(p.CertFile, p.KeyFile, der, key)
}

// signed says whether cert was signed by this CA (and not an older one).
func (ca *CA) signed(cert *x509.Certificate) bool {
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:     ca.Pool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err == nil
}

// matches says whether cert names what spec asks for.
func matches(cert *x509.Certificate, spec Spec) bool {
	return cert.Subject.CommonName == spec.CommonName &&
		slices.Equal(cert.Subject.Organization, spec.Organizations) &&
		slices.EqualFunc(cert.IPAddresses, spec.IPs, net.IP.Equal) &&
		slices.Equal(cert.DNSNames, spec.DNSNames) &&
		slices.Equal(cert.ExtKeyUsage, spec.Usages)
}
