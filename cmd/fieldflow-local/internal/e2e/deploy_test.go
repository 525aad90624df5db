package e2e

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/generator/deploy"
)

// TestDeploy applies both overlays, built as `kubectl apply -k` builds
// them, to the engine's real API server with the real kubectl: the
// minikube overlay for real, the aws overlay as a server-side dry run.
// The release manifests the overlays name by URL come from the Go module
// cache instead, made as the projects make their release assets. Krusty's
// own tests patch stubs; this one patches the real objects and lets the
// API server judge the result against its OpenAPI and the CRD schemas,
// which is how a patch that nulls a Deployment's selector was found.
func TestDeploy(t *testing.T) {
	if os.Getenv("FIELDFLOW_LOCAL_E2E") != "1" {
		t.Skip("set FIELDFLOW_LOCAL_E2E=1 to run (starts kube-apiserver and applies both overlays with kubectl)")
	}
	bin, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is needed to apply the overlays as `make deploy` does (v1.32 is at /usr/bin/kubectl on the project's machines): %v", err)
	}
	releases := releaseManifests(t)
	k := kubectl{bin: bin, kubeconfig: sharedUp(t).kubeconfig}
	for _, tc := range []struct {
		name, dir string
		// dryRun checks without creating anything: the aws overlay is
		// for EKS. Its Argo kinds need the releases' CRDs, which a
		// cluster it is deployed to has, and its namespace, which a dry
		// run does not create: both are applied for real first.
		dryRun bool
	}{
		{name: "minikube", dir: "kustomize/overlays/minikube"},
		{name: "aws", dir: "kustomize/overlays/aws", dryRun: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			first, rest := prerequisites(buildOverlay(t, tc.dir, releases))
			if tc.dryRun {
				first = append(releaseCRDs(t, releases), first...)
			}
			n := k.apply(t, first, false)
			k.waitEstablished(t, first)
			m := k.apply(t, rest, tc.dryRun)
			t.Logf("%s: %d objects applied first (CRDs, namespaces), then %d (dry run: %v) in %s",
				tc.dir, n, m, tc.dryRun, time.Since(start).Round(time.Millisecond))
		})
	}
}

// object is one built object: its kind and name, and its YAML.
type object struct {
	kind, name string
	yaml       []byte
}

// prerequisites splits objects into the CRDs and Namespaces, which the
// others need to exist before the API server accepts them, and the rest.
// `make deploy` gets the same order by applying twice.
func prerequisites(objs []object) (first, rest []object) {
	for _, o := range objs {
		if o.kind == "CustomResourceDefinition" || o.kind == "Namespace" {
			first = append(first, o)
		} else {
			rest = append(rest, o)
		}
	}
	return first, rest
}

// release is a manifest an overlay names by URL and how to make it from
// the Go module of the same project.
type release struct {
	url, module string
	make        func(t *testing.T, moduleDir, version string) []byte
}

var releases = []release{
	{deploy.ArgoWorkflowsInstall, "github.com/argoproj/argo-workflows/v3", argoWorkflowsInstall},
	{deploy.ArgoEventsInstall, "github.com/argoproj/argo-events", argoEventsInstall},
}

// releaseManifests makes every release manifest, by URL. The module
// version go.mod requires must be the one in the URL: the Go types the
// generator writes against and the release deployed are one version.
func releaseManifests(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, r := range releases {
		dir, version := module(t, r.module)
		if !strings.Contains(r.url, "/download/"+version+"/") {
			t.Fatalf("%s is not the release of %s %s that go.mod requires", r.url, r.module, version)
		}
		out[r.url] = r.make(t, dir, version)
	}
	return out
}

// module is the folder and version of a module in the Go module cache.
func module(t *testing.T, path string) (dir, version string) {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", path)
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", path, err)
	}
	dir, version, ok := strings.Cut(strings.TrimSpace(string(out)), " ")
	if !ok || dir == "" {
		t.Fatalf("go list -m %s: no module folder in %q (go mod download)", path, out)
	}
	return dir, version
}

// argoWorkflowsInstall is install.yaml as the project's Makefile makes it:
// `kubectl kustomize --load-restrictor=LoadRestrictionsNone
// manifests/cluster-install`, then (dist/manifests/%) `sed
// 's/:latest/:VERSION/'`, done here with an images field for the two
// images tagged latest. argoexec is not in the manifest: the controller
// runs its own version's executor image unless configured otherwise.
func argoWorkflowsInstall(t *testing.T, moduleDir, version string) []byte {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), filepath.Join(moduleDir, "manifests", "cluster-install"))
	if err != nil {
		t.Fatalf("kustomize build of argo-workflows' manifests/cluster-install: %v", err)
	}
	built, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	k := kustomization()
	k.Resources = []string{"cluster-install.yaml"}
	for _, image := range []string{"quay.io/argoproj/workflow-controller", "quay.io/argoproj/argocli"} {
		k.Images = append(k.Images, types.Image{Name: image, NewTag: version})
	}
	mem := filesys.MakeFsInMemory()
	write(t, mem, "cluster-install.yaml", built)
	write(t, mem, "kustomization.yaml", marshal(t, k))
	out := asYAML(t, kustomizeBuild(t, mem, "."))
	if bytes.Contains(out, []byte(":latest")) {
		t.Fatalf("argo-workflows %s: an image is still tagged latest; the release tags every one %s", version, version)
	}
	return out
}

// argoEventsInstall is the module's manifests/install.yaml, the file the
// release publishes.
func argoEventsInstall(t *testing.T, moduleDir, _ string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleDir, "manifests", "install.yaml"))
	if err != nil {
		t.Fatalf("argo-events release manifest: %v", err)
	}
	return b
}

// releaseCRDs are the CRDs of every release manifest.
func releaseCRDs(t *testing.T, manifests map[string][]byte) []object {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	k := kustomization()
	for i, r := range releases {
		name := fmt.Sprintf("release-%d.yaml", i)
		write(t, mem, name, manifests[r.url])
		k.Resources = append(k.Resources, name)
	}
	write(t, mem, "kustomization.yaml", marshal(t, k))
	crds, _ := prerequisites(objects(t, kustomizeBuild(t, mem, ".")))
	var out []object
	for _, o := range crds {
		if o.kind == "CustomResourceDefinition" {
			out = append(out, o)
		}
	}
	return out
}

// buildOverlay builds dir, relative to the repository, as `kubectl apply
// -k` does (krusty, default options), on an in-memory copy of what it
// reads. The copy has .env and aws.env from their checked-in examples and
// every remote resource replaced by the local file of its release.
func buildOverlay(t *testing.T, dir string, manifests map[string][]byte) []object {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	for _, sub := range []string{"templates", "argo-events", "kustomize"} {
		copyTree(t, mem, sub)
	}
	for from, to := range map[string]string{
		"kustomize/overlays/minikube/.env.example": "kustomize/overlays/minikube/.env",
		"kustomize/overlays/aws/aws.env.example":   "kustomize/overlays/aws/aws.env",
	} {
		b, err := mem.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		write(t, mem, to, b)
	}
	localReleases(t, mem, manifests)
	return objects(t, kustomizeBuild(t, mem, dir))
}

// copyTree copies a folder of the repository into mem, leaving out Go
// files and a developer's own .env and aws.env.
func copyTree(t *testing.T, mem filesys.FileSystem, dir string) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if name := d.Name(); strings.HasSuffix(name, ".go") || name == ".env" || name == "aws.env" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repoRoot, path)
		if err != nil {
			return err
		}
		return mem.WriteFile(filepath.ToSlash(rel), b)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", dir, err)
	}
}

// localReleases writes each release manifest beside the kustomization
// that names its URL and names the file instead; nothing else changes.
// A remote resource without a release here fails the test: it would be
// fetched from the network.
func localReleases(t *testing.T, mem filesys.FileSystem, manifests map[string][]byte) {
	t.Helper()
	err := mem.Walk("kustomize", func(path string, info fs.FileInfo, err error) error {
		if err != nil || info.IsDir() || filepath.Base(path) != "kustomization.yaml" {
			return err
		}
		b, err := mem.ReadFile(path)
		if err != nil {
			return err
		}
		k := &types.Kustomization{}
		if err := yaml.UnmarshalStrict(b, k); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		changed := false
		for i, res := range k.Resources {
			if !strings.HasPrefix(res, "https://") && !strings.HasPrefix(res, "http://") {
				continue
			}
			manifest, ok := manifests[res]
			if !ok {
				return fmt.Errorf("%s: remote resource %s has no release made from the module cache", path, res)
			}
			k.Resources[i] = "release-" + filepath.Base(res)
			if err := mem.WriteFile(filepath.Join(filepath.Dir(path), k.Resources[i]), manifest); err != nil {
				return err
			}
			changed = true
		}
		if !changed {
			return nil
		}
		out, err := yaml.Marshal(k)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return mem.WriteFile(path, out)
	})
	if err != nil {
		t.Fatalf("release manifests from the module cache: %v", err)
	}
}

func kustomization() *types.Kustomization {
	return &types.Kustomization{TypeMeta: types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind}}
}

// kustomizeBuild builds dir of mem with krusty's default options, those of
// `kubectl apply -k`.
func kustomizeBuild(t *testing.T, mem filesys.FileSystem, dir string) resmap.ResMap {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return m
}

func asYAML(t *testing.T, m resmap.ResMap) []byte {
	t.Helper()
	b, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func objects(t *testing.T, m resmap.ResMap) []object {
	t.Helper()
	var out []object
	for _, res := range m.Resources() {
		b, err := res.AsYAML()
		if err != nil {
			t.Fatalf("%s %s: %v", res.GetKind(), res.GetName(), err)
		}
		out = append(out, object{kind: res.GetKind(), name: res.GetName(), yaml: b})
	}
	return out
}

func write(t *testing.T, mem filesys.FileSystem, path string, b []byte) {
	t.Helper()
	if err := mem.WriteFile(path, b); err != nil {
		t.Fatal(err)
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kubectl is the real client against the engine.
type kubectl struct{ bin, kubeconfig string }

// apply applies objs server-side in one call, as `kubectl apply
// --server-side -k` does, and returns how many were applied. The first
// rejection fails the test with the API server's message, which names the
// object.
//
// --force-conflicts: the engine created Argo's CRDs itself (with Create
// and Update), so the release's CRDs change fields another field manager
// owns; on a fresh cluster (`make deploy`)
// there is no other manager and nothing to force.
func (k kubectl) apply(t *testing.T, objs []object, dryRun bool) int {
	t.Helper()
	if len(objs) == 0 {
		return 0
	}
	args := []string{"--kubeconfig", k.kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", "-"}
	if dryRun {
		args = append(args, "--dry-run=server")
	}
	var stream bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			stream.WriteString("---\n")
		}
		stream.Write(o.yaml)
	}
	cmd := exec.Command(k.bin, args...)
	cmd.Stdin = &stream
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl apply --server-side (dry run: %v) of %d objects: %v\nfirst rejection: %s\nall of kubectl's errors:\n%s",
			dryRun, len(objs), err, firstRejection(stderr.String()), stderr.String())
	}
	applied := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(applied) != len(objs) {
		t.Errorf("kubectl reported %d objects applied, want %d:\n%s", len(applied), len(objs), stdout.String())
	}
	return len(applied)
}

// firstRejection is kubectl's first error, one line: the API server's
// message names the object, then lists its invalid fields on lines
// starting with "* ".
func firstRejection(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	var causes []string
	for _, l := range lines[1:] {
		cause, ok := strings.CutPrefix(l, "* ")
		if !ok {
			break
		}
		causes = append(causes, cause)
	}
	return strings.TrimSpace(strings.TrimSpace(lines[0]) + " " + strings.Join(causes, "; "))
}

func TestFirstRejection(t *testing.T) {
	for _, tc := range []struct{ stderr, want string }{
		{
			"The Deployment \"argo-server\" is invalid: \n* spec.selector: Required value\n* spec.template.metadata.labels: Invalid value\n" +
				"Error from server (NotFound): namespaces \"x\" not found\n",
			"The Deployment \"argo-server\" is invalid: spec.selector: Required value; spec.template.metadata.labels: Invalid value",
		},
		{"Error from server (NotFound): namespaces \"x\" not found\n", "Error from server (NotFound): namespaces \"x\" not found"},
	} {
		if got := firstRejection(tc.stderr); got != tc.want {
			t.Errorf("firstRejection(%q) = %q, want %q", tc.stderr, got, tc.want)
		}
	}
}

// waitEstablished waits until the API server serves every CRD of objs.
func (k kubectl) waitEstablished(t *testing.T, objs []object) {
	t.Helper()
	var crds []string
	for _, o := range objs {
		if o.kind == "CustomResourceDefinition" {
			crds = append(crds, "crd/"+o.name)
		}
	}
	if len(crds) == 0 {
		return
	}
	args := append([]string{"--kubeconfig", k.kubeconfig, "wait", "--for", "condition=established", "--timeout=60s"}, crds...)
	if out, err := exec.Command(k.bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("kubectl wait for the CRDs: %v\n%s", err, out)
	}
}
