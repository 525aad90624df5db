package plugin

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/argoproj/argo-workflows/v3/pkg/apis/workflow"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"

	"github.com/fieldflow/fieldflow/processor"
)

// Files of a service account folder, as Kubernetes mounts it.
const (
	tokenFile     = "token"
	caFile        = "ca.crt"
	namespaceFile = "namespace"
)

// The client's request rate: a submit task creates a Workflow per key of
// a page (up to pipeline.PageLimit), as many at once as the agent has
// workers. client-go's default, 5 a second, would take minutes on a page.
const (
	apiQPS   = 20
	apiBurst = 40
)

// kube is the Kubernetes API client Submit creates Workflows with, as the
// plugin's service account. It is made on first use, so that a sidecar
// without a token (automountServiceAccountToken off) still judges, lists
// and counts; a failed attempt is not kept, so a token that appears later
// is found.
type kube struct {
	dir    string
	getenv func(string) string

	mu     sync.Mutex
	client rest.Interface
}

// workflows is the client of Argo's API group, made now if it was not
// yet.
func (k *kube) workflows() (rest.Interface, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.client != nil {
		return k.client, nil
	}
	cfg, err := serviceAccountConfig(k.dir, k.getenv)
	if err != nil {
		return nil, err
	}
	cfg.GroupVersion = &schema.GroupVersion{Group: workflow.Group, Version: workflow.Version}
	cfg.APIPath = "/apis"
	cfg.ContentType = runtime.ContentTypeJSON
	cfg.NegotiatedSerializer = statusCodecs
	cfg.UserAgent = Container // the sidecar, in the API server's audit log
	c, err := rest.RESTClientFor(cfg)
	if err != nil {
		return nil, processor.Permanent(fmt.Errorf("kubernetes client: %w", err))
	}
	k.client = c
	return c, nil
}

// statusCodecs read what the API answers a create with: a metav1.Status
// on a refusal, whose reason tells AlreadyExists from the others. The
// created Workflow itself is not read.
var statusCodecs = func() runtime.NegotiatedSerializer {
	s := runtime.NewScheme()
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return serializer.NewCodecFactory(s).WithoutConversion()
}()

// namespace is the service account's namespace, for a request that names
// none.
func (k *kube) namespace() (string, error) {
	b, err := os.ReadFile(filepath.Join(k.dir, namespaceFile))
	if err != nil {
		return "", processor.Permanent(fmt.Errorf("the request names no namespace and the service account has none: %w", err))
	}
	return strings.TrimSpace(string(b)), nil
}

// serviceAccountConfig is rest.InClusterConfig for the service account
// folder dir: the API server from KUBERNETES_SERVICE_HOST and
// KUBERNETES_SERVICE_PORT, verified with dir's ca.crt, and dir's token,
// read again from the file as the kubelet rotates it. What is missing is
// named, and permanent.
func serviceAccountConfig(dir string, getenv func(string) string) (*rest.Config, error) {
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, processor.Permanent(errors.New("no Kubernetes API to submit to: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set"))
	}
	token := filepath.Join(dir, tokenFile)
	b, err := os.ReadFile(token)
	if err == nil && len(strings.TrimSpace(string(b))) == 0 {
		err = errors.New("empty")
	}
	if err != nil {
		return nil, processor.Permanent(fmt.Errorf("no service account token to submit with (is automountServiceAccountToken set in the plugin's ConfigMap?): %s: %w", token, err))
	}
	ca := filepath.Join(dir, caFile)
	if _, err := certutil.NewPool(ca); err != nil {
		return nil, processor.Permanent(fmt.Errorf("no CA to verify the Kubernetes API with: %w", err))
	}
	return &rest.Config{
		Host:            "https://" + net.JoinHostPort(host, port),
		TLSClientConfig: rest.TLSClientConfig{CAFile: ca},
		BearerToken:     strings.TrimSpace(string(b)),
		BearerTokenFile: token,
		QPS:             apiQPS,
		Burst:           apiBurst,
	}, nil
}
