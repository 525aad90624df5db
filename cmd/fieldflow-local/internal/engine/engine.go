// Package engine runs the generated manifests on a local Kubernetes API
// with Argo's own controller: it applies the templates, runs pods with the
// process kubelet, turns store notifications into Workflows through the
// generated Sensors, and for --once waits until nothing more can run.
package engine

import (
	"context"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/kubelet"
	"github.com/fieldflow/fieldflow/generator/podimage"
	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/store"
)

// Options for one engine run.
type Options struct {
	Store      string // s3://BUCKET or a folder
	Manifests  string // folder with templates/ and argo-events/; "" for the embedded copies
	StateDir   string // the engine's state folder; pods' folders are under pods/
	Kubeconfig string // the engine's admin kubeconfig, for the event path's Sensor
	Images     string // the image store: the OCI layout `make image` writes, and its unpacked images
	Parallel   int    // pods at once
}

// Engine is a running local engine.
type Engine struct {
	opt       Options
	manifests *Manifests
	kube      kubernetes.Interface
	argo      wfclientset.Interface
	proc      *processor.Processor
	log       *slog.Logger
}

// New connects to the API server and applies the manifests. st is the
// store opt.Store names, opened by the caller (processor.OpenStore) before
// the API server starts, so that a missing bucket fails in a second.
func New(ctx context.Context, cfg *rest.Config, m *Manifests, st store.Store, opt Options, log *slog.Logger) (*Engine, error) {
	e := &Engine{opt: opt, manifests: m, log: log}
	var err error
	if e.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if e.argo, err = wfclientset.NewForConfig(cfg); err != nil {
		return nil, err
	}
	pipe, err := m.Pipeline()
	if err != nil {
		return nil, err
	}
	e.proc = processor.New(st, pipe, log)
	if err := m.createNamespace(ctx, e.kube); err != nil {
		return nil, err
	}
	in, err := newInstaller(cfg, log)
	if err != nil {
		return nil, err
	}
	secrets, err := e.secrets()
	if err != nil {
		return nil, err
	}
	if err := in.Install(ctx, append(m.Objects(), secrets...), prunable); err != nil {
		return nil, err
	}
	return e, nil
}

// Kubelet returns the process kubelet for the engine's namespace, with
// pods pointed at the local store instead of the cluster's bucket.
func (e *Engine) Kubelet(cfg *rest.Config) (*kubelet.Kubelet, error) {
	store := e.opt.Store
	var err error
	if !strings.HasPrefix(store, "s3://") {
		if store, err = filepath.Abs(store); err != nil {
			return nil, err
		}
	}
	// The unpacked images' programs run by absolute path only, never from PATH.
	images, err := filepath.Abs(e.opt.Images)
	if err != nil {
		return nil, err
	}
	// Argo's executor ("argoexec") runs only in agent pods here, as this
	// binary's `agent`: the kubelet plays it for the other pods.
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	env := map[string]string{"FIELDFLOW_STORE": store}
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_REGION", "FIELDFLOW_LOG_LEVEL"} {
		env[k] = os.Getenv(k) // the cluster's endpoint means nothing here
	}
	return &kubelet.Kubelet{
		Kube: e.kube, Argo: e.argo, Config: cfg,
		Namespace: e.manifests.Namespace,
		Node:      "local",
		Images:    &podimage.Store{Dir: images},
		Agent:     self,
		Env:       env,
		WorkDir:   filepath.Join(e.opt.StateDir, "pods"),
		Parallel:  e.opt.Parallel,
		Log:       e.log,
	}, nil
}

// secrets are the Secrets the templates read, from this process's AWS
// environment: what a user would put in the cluster's Secret.
func (e *Engine) secrets() ([]*unstructured.Unstructured, error) {
	names := map[string]bool{}
	for _, wt := range e.manifests.Templates {
		for _, t := range wt.Spec.Templates {
			if t.Container == nil {
				continue
			}
			for _, env := range t.Container.Env {
				if env.ValueFrom != nil && env.ValueFrom.SecretKeyRef != nil {
					names[env.ValueFrom.SecretKeyRef.Name] = true
				}
			}
		}
	}
	var out []*unstructured.Unstructured
	for _, name := range slices.Sorted(maps.Keys(names)) {
		u, err := toUnstructured(&corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.manifests.Namespace},
			StringData: map[string]string{
				"AWS_ACCESS_KEY_ID":     os.Getenv("AWS_ACCESS_KEY_ID"),
				"AWS_SECRET_ACCESS_KEY": os.Getenv("AWS_SECRET_ACCESS_KEY"),
			},
		})
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}
