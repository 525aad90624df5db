package pki

import (
	"crypto/x509"
	"net"
	"path/filepath"
)

// APIServerClientName is the common name of the API server's client
// certificate: the one client the kubelet serves.
const APIServerClientName = "kube-apiserver-kubelet-client"

// KubeletFiles are the certificates with which the API server and the
// process kubelet trust each other, as kubeadm lays them out for a cluster:
// the kubelet's serving pair, the API server's kubelet-client pair, and the
// CA that signed both.
type KubeletFiles struct {
	CAFile      string // --kubelet-certificate-authority; the kubelet's client CA
	ServingCert string // the kubelet's serving certificate, for 127.0.0.1
	ServingKey  string
	ClientCert  string // --kubelet-client-certificate
	ClientKey   string // --kubelet-client-key
}

// KubeletPaths are where EnsureKubelet keeps the files under dir.
func KubeletPaths(dir string) KubeletFiles {
	return KubeletFiles{
		CAFile:      filepath.Join(dir, "ca.crt"),
		ServingCert: filepath.Join(dir, "kubelet.crt"),
		ServingKey:  filepath.Join(dir, "kubelet.key"),
		ClientCert:  filepath.Join(dir, "apiserver-kubelet-client.crt"),
		ClientKey:   filepath.Join(dir, "apiserver-kubelet-client.key"),
	}
}

// EnsureKubelet creates (or reuses) the CA and both pairs under dir.
func EnsureKubelet(dir string) (KubeletFiles, error) {
	ca, err := EnsureCA(dir)
	if err != nil {
		return KubeletFiles{}, err
	}
	f := KubeletPaths(dir)
	serving := Leaf{
		CommonName: "fieldflow-local kubelet",
		IPs:        []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:   []string{"localhost"},
		Usage:      x509.ExtKeyUsageServerAuth,
	}
	if err := ca.Ensure(f.ServingCert, f.ServingKey, serving); err != nil {
		return f, err
	}
	client := Leaf{CommonName: APIServerClientName, Organization: []string{"system:masters"}, Usage: x509.ExtKeyUsageClientAuth}
	if err := ca.Ensure(f.ClientCert, f.ClientKey, client); err != nil {
		return f, err
	}
	return f, nil
}
