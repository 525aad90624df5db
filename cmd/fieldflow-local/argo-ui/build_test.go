// Package argoui holds the build of Argo Workflows' UI (build.sh and the
// files it uses); its tests check the build, not Go code.
package argoui

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// bundle is where `make local` builds the UI, from this folder.
const bundle = "../../../.cache/argo-ui-v3.7.3/ui/dist/app"

// TestBundleReproducible: the UI that `make local` built from yarn.lock
// is, file for file, the one whose hash bundle.sha256 records, so a build
// on another machine or from an empty cache gives the same bundle.
func TestBundleReproducible(t *testing.T) {
	if _, err := os.Stat(filepath.Join(bundle, "index.html")); err != nil {
		if os.Getenv("FIELDFLOW_LOCAL_E2E") == "1" {
			t.Fatalf("no UI bundle: `make local` builds it: %v", err)
		}
		t.Skip("no UI bundle: `make local` builds it")
	}
	want, err := os.ReadFile("bundle.sha256")
	if err != nil {
		t.Fatal(err)
	}
	if got := treeHash(t, bundle); got != strings.TrimSpace(string(want)) {
		t.Errorf("the UI bundle's hash is %s, bundle.sha256 says %s: a change to the build or the lock changes the bundle (update bundle.sha256 with it)", got, want)
	}
}

// TestRegistryUnreachable: with the npm registry out of reach, the build
// fails at once and says what it could not reach, both before yarn is
// installed and after.
func TestRegistryUnreachable(t *testing.T) {
	module := argoModule(t)
	closed := "http://127.0.0.1:9/"
	for _, tc := range []struct {
		name     string
		withYarn bool
		want     string
	}{
		{"no yarn yet", false, "cannot install yarn 1.22.22 from the npm registry (" + closed + "): is it reachable?"},
		{"yarn there", true, "yarn install failed: is the npm registry (" + closed + ") reachable?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.withYarn {
				tools, err := filepath.Abs("../../../.cache/tools")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(filepath.Join(tools, "node_modules", ".bin", "yarn")); err != nil {
					t.Skip("no yarn in .cache/tools: `make local` installs it")
				}
				if err := os.Symlink(tools, filepath.Join(dir, "tools")); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("./build.sh", module, filepath.Join(dir, "ui"))
			cmd.Env = append(os.Environ(), "npm_config_registry="+closed, "YARN_REGISTRY="+closed,
				"npm_config_fetch_retries=0", "YARN_CACHE_FOLDER="+filepath.Join(dir, "yarn-cache"))
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("build.sh succeeded with the registry at a closed port:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("build.sh's output lacks %q:\n%s", tc.want, lastLines(string(out), 15))
			}
		})
	}
}

// argoModule is the pinned argo-workflows module's folder in the module cache.
func argoModule(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "argoproj", "argo-workflows", "v3@v3.7.3")
	if _, err := os.Stat(filepath.Join(dir, "ui", "package.json")); err != nil {
		t.Skipf("argo-workflows v3.7.3 is not in the module cache (go mod download): %v", err)
	}
	return dir
}

// treeHash is the SHA-256 of every file's path and content under dir, in
// path order.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	h := sha256.New()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(b)
		h.Write([]byte(filepath.ToSlash(rel) + " " + hex.EncodeToString(sum[:]) + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
