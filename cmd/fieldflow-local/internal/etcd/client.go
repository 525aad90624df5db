package etcd

import (
	"fmt"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/pki"
)

// ClientCert issues (or reuses) the certificate etcd's one legitimate
// client, the API server, presents.
func ClientCert(ca *pki.CA) (pki.Pair, error) {
	p, err := ca.Client("apiserver-etcd-client", "kube-apiserver-etcd-client")
	if err != nil {
		return p, fmt.Errorf("etcd client certificate: %w", err)
	}
	return p, nil
}
