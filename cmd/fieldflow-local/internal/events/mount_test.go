package events

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestPrivateMounts: two children, each binding its own folder on
// /argo-events, read their own secret and not the other's, and nothing is
// left under /argo-events outside their namespaces.
func TestPrivateMounts(t *testing.T) {
	if dir := os.Getenv("FIELDFLOW_TEST_BIND"); dir != "" {
		if err := BindSecrets(dir); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(argoEventsRoot, "secrets", "s", "k"))
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout.Write(b)
		if err := os.WriteFile(filepath.Join(argoEventsRoot, "x"), nil, 0o600); err == nil {
			t.Fatal("/argo-events is writable in the child")
		}
		return
	}
	if err := ensureMountPoint(); err != nil {
		t.Skip(err)
	}
	for _, secret := range []string{"first", "second"} {
		dir := t.TempDir()
		p := filepath.Join(dir, "secrets", "s", "k")
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestPrivateMounts$")
		cmd.Env = append(os.Environ(), "FIELDFLOW_TEST_BIND="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{}
		privateMounts(cmd.SysProcAttr)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if got := string(out[:len(secret)]); got != secret {
			t.Errorf("child read %q, want %q", out, secret)
		}
	}
	entries, err := os.ReadDir(argoEventsRoot)
	if err != nil || len(entries) != 0 {
		t.Errorf("%s outside the children: %v, %v", argoEventsRoot, entries, err)
	}
}
