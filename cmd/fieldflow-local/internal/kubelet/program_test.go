package kubelet

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/fieldflow/fieldflow/generator/podimage"
)

// testImages is an image store holding fieldflow:0.1.0 for this platform,
// whose binary is a stand-in.
func testImages(t *testing.T) (*podimage.Store, string) {
	t.Helper()
	dir := t.TempDir()
	bin, certs := filepath.Join(dir, "fieldflow"), filepath.Join(dir, "ca.crt")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(certs, []byte("certs\n"), 0o644)
	idx, err := podimage.Index(podimage.Options{Binaries: map[string]string{runtime.GOOS + "/" + runtime.GOARCH: bin}, CACerts: certs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := podimage.Write(dir, "fieldflow:0.1.0", idx); err != nil {
		t.Fatal(err)
	}
	s := &podimage.Store{Dir: dir}
	u, err := s.Unpack("fieldflow:0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	return s, filepath.Join(u.Rootfs, "usr/local/bin/fieldflow")
}

// TestArgv: a container runs the file of its image that its command
// names, by its absolute path in the unpacked image, also behind Argo's
// emissary wrapper; anything its image does not hold is refused, and an
// image the store does not hold is a failed pull. An agent pod's
// containers also run Argo's agent, as the engine's `agent` subcommand and
// nothing else of it; a workflow pod's never do.
func TestArgv(t *testing.T) {
	images, bin := testImages(t)
	k := &Kubelet{Images: images, Agent: "/opt/bin/fieldflow-local"}
	const emissary = "/var/run/argo/argoexec"
	const agent, workflow = true, false
	const ours, argos, missing = "fieldflow:0.1.0", "quay.io/argoproj/argoexec:v3.7.3", "fieldflow:9.9.9"
	for _, tc := range []struct {
		name    string
		agent   bool // a container of an agent pod
		image   string
		command []string
		args    []string
		want    []string
		wantErr string
	}{
		{"fieldflow", workflow, ours, []string{"fieldflow"}, []string{"process", "--key", "k"}, []string{bin, "process", "--key", "k"}, ""},
		{"fieldflow by its path", workflow, ours, []string{podimage.Entrypoint}, []string{"check"}, []string{bin, "check"}, ""},
		{"the image's entrypoint", workflow, "docker.io/library/" + ours, nil, []string{"check"}, []string{bin, "check"}, ""},
		{"fieldflow under emissary", workflow, ours, []string{emissary, "emissary", "--loglevel", "info", "--", "fieldflow"}, []string{"check"}, []string{bin, "check"}, ""},
		{"shell", workflow, ours, []string{"sh", "-c", "touch /tmp/x"}, nil, nil, `"sh" not found on the PATH of image`},
		{"shell under emissary", workflow, ours, []string{emissary, "emissary", "--", "sh"}, []string{"-c", "id"}, nil, `"sh" not found`},
		{"absolute path to a shell", workflow, ours, []string{"/bin/sh"}, nil, nil, "/bin/sh is no executable file in image"},
		{"a path out of the image", workflow, ours, []string{"/../../bin/sh"}, nil, nil, "is no executable file in image"},
		{"image not in the store", workflow, missing, []string{"fieldflow"}, nil, nil, "make image"},
		{"argoexec in a workflow pod", workflow, argos, []string{"argoexec"}, []string{"agent", "main"}, nil, "make image"},
		{"agent main", agent, argos, []string{"argoexec"}, []string{"agent", "main", "--loglevel", "info"}, []string{"/opt/bin/fieldflow-local", "agent", "main", "--loglevel", "info"}, ""},
		{"plugin sidecar", agent, ours, []string{"fieldflow"}, []string{"plugin"}, []string{bin, "plugin"}, ""},
		{"the engine's other commands", agent, argos, []string{"argoexec"}, []string{"up", "--store", "/"}, nil, "runs only `agent`"},
		{"argoexec alone", agent, argos, []string{"argoexec"}, nil, nil, "runs only `agent`"},
		{"shell in an agent pod", agent, ours, []string{"sh"}, nil, nil, `"sh" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			argv := k.argv
			if tc.agent {
				argv = k.agentArgv
			}
			got, err := argv(corev1.Container{Name: "main", Image: tc.image, Command: tc.command, Args: tc.args})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("argv = %q, %v; want error %q", got.argv, err, tc.wantErr)
				}
				if pull := errors.As(err, new(errPull)); pull != (tc.image == missing || tc.image == argos && !tc.agent) {
					t.Errorf("a failed pull: %v, for image %s", pull, tc.image)
				}
				return
			}
			if err != nil || !slices.Equal(got.argv, tc.want) {
				t.Errorf("argv = %q, %v; want %q", got.argv, err, tc.want)
			}
			if !tc.agent || got.argv[0] == bin {
				if !slices.Contains(got.env, "PATH="+podimage.Path) {
					t.Errorf("env %q lacks the image's PATH", got.env)
				}
			}
		})
	}
}
