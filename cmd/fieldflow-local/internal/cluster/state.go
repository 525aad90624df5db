package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ports are the local TCP ports of a state folder, kept across restarts so
// that etcd's member URL and the kubeconfig stay valid.
type ports struct {
	EtcdClient int `json:"etcdClient"`
	EtcdPeer   int `json:"etcdPeer"`
	APIServer  int `json:"apiServer"`
	Kubelet    int `json:"kubelet"` // the process kubelet's API, for pod logs
}

// loadPorts reuses the ports saved in path when they are free, picks free
// ones otherwise, and saves the result.
func loadPorts(path string) (ports, error) {
	var p ports
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return p, fmt.Errorf("read ports: %w", err)
	}
	if err == nil {
		if err := json.Unmarshal(data, &p); err != nil {
			return p, fmt.Errorf("decode %s: %w", path, err)
		}
	}
	for _, port := range []*int{&p.EtcdClient, &p.EtcdPeer, &p.APIServer, &p.Kubelet} {
		if *port, err = freePort(*port); err != nil {
			return p, err
		}
	}
	data, _ = json.MarshalIndent(p, "", "  ")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return p, fmt.Errorf("save ports: %w", err)
	}
	return p, nil
}

// freePort returns want if it can be bound on 127.0.0.1, else a free port.
func freePort(want int) (int, error) {
	if want > 0 {
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(want))); err == nil {
			_ = l.Close()
			return want, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockState takes an exclusive lock on the state folder, so that two engines
// never share one etcd data directory.
func lockState(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open state lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("state folder %s is in use by another fieldflow-local: %w", dir, err)
	}
	return f, nil
}

// writeKubeconfig writes a kubeconfig for cfg (token and CA data) to path.
func writeKubeconfig(path string, cfg *rest.Config, namespace string) error {
	const name = "fieldflow-local"
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: namespace}
	kc.CurrentContext = name
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}
