package pki

import (
	"net"
)

// APIServerClientName is the common name of the API server's client
// certificate: the one client the kubelet serves.
const APIServerClientName = "kube-apiserver-kubelet-client"

// caName is the common name of a state folder's CA.
const caName = "fieldflow-local CA"

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

// Names of the kubelet's pairs in the CA's folder.
const (
	kubeletServing = "kubelet"
	kubeletClient  = "apiserver-kubelet-client"
)

// KubeletPaths are where EnsureKubelet keeps the files under dir.
func KubeletPaths(dir string) KubeletFiles {
	ca := &CA{Dir: dir}
	serving, client := ca.pair(kubeletServing), ca.pair(kubeletClient)
	return KubeletFiles{
		CAFile:      ca.pair("ca").CertFile,
		ServingCert: serving.CertFile, ServingKey: serving.KeyFile,
		ClientCert: client.CertFile, ClientKey: client.KeyFile,
	}
}

// EnsureKubelet loads or creates the CA in dir and issues (or reuses) both
// pairs.
func EnsureKubelet(dir string) (KubeletFiles, error) {
	ca, err := LoadOrCreate(dir, caName)
	if err != nil {
		return KubeletFiles{}, err
	}
	if _, err := ca.Server(kubeletServing, []net.IP{net.IPv4(127, 0, 0, 1)}, "localhost"); err != nil {
		return KubeletFiles{}, err
	}
	if _, err := ca.Client(kubeletClient, APIServerClientName, "system:masters"); err != nil {
		return KubeletFiles{}, err
	}
	return KubeletPaths(dir), nil
}
