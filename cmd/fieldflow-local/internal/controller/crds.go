package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

const (
	argoModule   = "github.com/argoproj/argo-workflows/v3"
	eventsModule = "github.com/argoproj/argo-events"
)

// sourceHash annotates an installed CRD with the SHA-256 of its file, so that
// a restart skips the (slow) update of an unchanged CRD.
const sourceHash = "fieldflow.io/source-sha256"

// ArgoVersion is the argo-workflows version linked into this binary.
func ArgoVersion() string { return linkedVersion(argoModule, "v3.7.3") }

// linkedVersion is the version of module linked into this binary, or
// fallback where the build has no module information (go run of a file).
func linkedVersion(module, fallback string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == module {
				return d.Version
			}
		}
	}
	return fallback
}

// CRDDir finds Argo's minimal CRDs in the Go module cache, in the manifests
// of the argo-workflows version this binary links. They are the ones Argo's
// release installs, so the engine's API server checks what a cluster's
// checks; the full ones made it validate Argo's whole schema on every
// Workflow write, most of the engine's CPU time.
func CRDDir() (string, error) {
	return moduleDir(argoModule, ArgoVersion(), "manifests", "base", "crds", "minimal")
}

// EventsCRDDir finds Argo Events' CRDs (EventBus, EventSource, Sensor) in
// the Go module cache: the engine installs them so that the generated
// objects are in its API server, where Argo's UI shows them.
func EventsCRDDir() (string, error) {
	return moduleDir(eventsModule, linkedVersion(eventsModule, "v1.9.7"), "manifests", "base", "crds")
}

// moduleDir is a folder of module@version in the Go module cache.
func moduleDir(module, version string, elem ...string) (string, error) {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		out, err := exec.Command("go", "env", "GOMODCACHE").Output()
		if err != nil {
			return "", fmt.Errorf("find the Go module cache (set GOMODCACHE or --crds): %w", err)
		}
		cache = strings.TrimSpace(string(out))
	}
	dir := filepath.Join(append([]string{cache, module + "@" + version}, elem...)...)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("CRDs of %s not found (go mod download %s@%s, or --crds): %w", module, module, version, err)
	}
	return dir, nil
}

// loadCRDs reads every CustomResourceDefinition in dir.
func loadCRDs(dir string) ([]*apiextv1.CustomResourceDefinition, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "argoproj.io_*.yaml"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no argoproj.io_*.yaml CRDs in %s (err %v)", dir, err)
	}
	crds := make([]*apiextv1.CustomResourceDefinition, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read CRD: %w", err)
		}
		crd := &apiextv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, crd); err != nil {
			return nil, fmt.Errorf("decode CRD %s: %w", p, err)
		}
		sum := sha256.Sum256(data)
		metav1.SetMetaDataAnnotation(&crd.ObjectMeta, sourceHash, hex.EncodeToString(sum[:]))
		crds = append(crds, crd)
	}
	return crds, nil
}

var crdResource = apiextv1.SchemeGroupVersion.WithResource("customresourcedefinitions")

// clients of CRDs: typed, and metadata-only. (Protobuf instead of JSON made
// the first install three times slower, measured.)
type clients struct {
	apiext apiext.Interface
	meta   metadata.Interface
}

func newClients(cfg *rest.Config) (clients, error) {
	a, err := apiext.NewForConfig(cfg)
	if err != nil {
		return clients{}, fmt.Errorf("apiextensions client: %w", err)
	}
	m, err := metadata.NewForConfig(cfg)
	if err != nil {
		return clients{}, fmt.Errorf("metadata client: %w", err)
	}
	return clients{apiext: a, meta: m}, nil
}

// InstallCRDs creates or updates the CRDs in dirs and waits until the API
// server serves them.
func InstallCRDs(ctx context.Context, cfg *rest.Config, dirs ...string) error {
	start := time.Now()
	var crds []*apiextv1.CustomResourceDefinition
	for _, dir := range dirs {
		more, err := loadCRDs(dir)
		if err != nil {
			return err
		}
		crds = append(crds, more...)
	}
	slog.Debug("CRDs read", "count", len(crds), "took", time.Since(start))
	c, err := newClients(cfg)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, crd := range crds {
		g.Go(func() error { return installCRD(gctx, c, crd) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	slog.Info("CRDs installed", "count", len(crds), "dirs", dirs)
	return nil
}

// installCRD applies one CRD and waits until it is served.
func installCRD(ctx context.Context, c clients, crd *apiextv1.CustomResourceDefinition) error {
	start := time.Now()
	if err := applyCRD(ctx, c, crd); err != nil {
		return err
	}
	applied := time.Since(start)
	if err := waitEstablished(ctx, c.apiext, crd.Name); err != nil {
		return err
	}
	slog.Debug("CRD installed", "name", crd.Name, "applied", applied, "established", time.Since(start))
	return nil
}

// applyCRD creates crd, or updates it when the installed one came from
// another file; it reads only the installed CRD's metadata (a schema can
// be megabytes).
func applyCRD(ctx context.Context, c clients, crd *apiextv1.CustomResourceDefinition) error {
	crds := c.apiext.ApiextensionsV1().CustomResourceDefinitions()
	old, err := c.meta.Resource(crdResource).Get(ctx, crd.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create CRD %s: %w", crd.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get CRD %s: %w", crd.Name, err)
	}
	if old.Annotations[sourceHash] == crd.Annotations[sourceHash] {
		return nil
	}
	crd.ResourceVersion = old.ResourceVersion
	if _, err := crds.Update(ctx, crd, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update CRD %s: %w", crd.Name, err)
	}
	return nil
}

// waitEstablished polls until the CRD is established. A failed Get is
// retried: a loaded machine's API server answers some with a timeout.
func waitEstablished(ctx context.Context, client apiext.Interface, name string) error {
	var last error
	established := func(ctx context.Context) (bool, error) {
		crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextv1.Established && c.Status == apiextv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	}
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 3*time.Minute, true, established)
	if err != nil {
		return fmt.Errorf("CRD %s not established (last error: %v): %w", name, last, err)
	}
	return nil
}
