package kubelet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// TestParameters reads output parameters from a pod folder with a volume
// mounted at /data, next to a secret outside the pod folder (in
// t.TempDir, outside /data) that no path may reach: not absolute, not
// through "..", not through a symbolic link.
func TestParameters(t *testing.T) {
	base := t.TempDir()
	secret := filepath.Join(base, "secret")
	write(t, secret, "AKIA-secret")
	dir := filepath.Join(base, "pods", "pod-1")
	write(t, filepath.Join(dir, "volumes", "tmp", "outputs", "state"), "done\n")
	write(t, filepath.Join(dir, "volumes", "out", "nested"), "deeper mount\n")
	if err := os.Symlink(secret, filepath.Join(dir, "volumes", "tmp", "outputs", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../secret", filepath.Join(dir, "volumes", "tmp", "outputs", "relative-link")); err != nil {
		t.Fatal(err)
	}
	mounts := volumes{"/data": "volumes/tmp", "/data/outputs/deep": "volumes/out"}
	dflt := wfv1.AnyStringPtr("fallback")
	for _, tc := range []struct {
		name    string
		path    string
		def     *wfv1.AnyString
		want    string
		wantErr string
	}{
		{name: "in a volume", path: "/data/outputs/state", want: "done"},
		{name: "in the deeper of two mounts", path: "/data/outputs/deep/nested", want: "deeper mount"},
		{name: "missing, with a default", path: "/data/outputs/none", def: dflt, want: "fallback"},
		{name: "missing, no default", path: "/data/outputs/none", wantErr: "no such file"},
		{name: "absolute path outside", path: secret, wantErr: "in no volume of the pod"},
		{name: "absolute path outside, with a default", path: secret, def: dflt, want: "fallback"},
		{name: "dot-dot out of the pod folder", path: "/data/../../../../secret", wantErr: "escapes"},
		{name: "dot-dot out, with a default", path: "/data/../../../../secret", def: dflt, wantErr: "escapes"},
		{name: "symbolic link out of the pod folder", path: "/data/outputs/link", wantErr: "escapes"},
		{name: "relative symbolic link out", path: "/data/outputs/relative-link", def: dflt, wantErr: "escapes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := &wfv1.Template{Outputs: wfv1.Outputs{Parameters: []wfv1.Parameter{{
				Name: "p", ValueFrom: &wfv1.ValueFrom{Path: tc.path, Default: tc.def},
			}}}}
			got, err := parameters(tmpl, dir, mounts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parameters = %v, %v; want error %q", got, err, tc.wantErr)
				}
				if len(got) > 0 && strings.Contains(got[0].Value.String(), "AKIA") {
					t.Fatalf("the secret was read: %v", got)
				}
				return
			}
			if err != nil || len(got) != 1 || got[0].Value.String() != tc.want {
				t.Fatalf("parameters = %v, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestRemap points arguments in volumes at the pod folder and leaves the
// others alone.
func TestRemap(t *testing.T) {
	mounts := volumes{"/tmp": "volumes/tmp", "/tmp/outputs": "volumes/outputs"}
	for arg, want := range map[string]string{
		"/tmp/x":           "/pods/p/volumes/tmp/x",
		"/tmp/outputs/key": "/pods/p/volumes/outputs/key",
		"/tmp":             "/pods/p/volumes/tmp",
		"/tmpfile":         "/tmpfile",
		"--key":            "--key",
	} {
		if got := mounts.remap("/pods/p", arg); got != want {
			t.Errorf("remap(%q) = %q, want %q", arg, got, want)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
