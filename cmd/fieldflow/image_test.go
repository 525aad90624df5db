package main

import (
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/generator"
	"github.com/fieldflow/fieldflow/generator/podimage"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, USER...
	args string
}

func dockerfile(t *testing.T) []instruction {
	t.Helper()
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cont := strings.HasSuffix(line, "\\")
		cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
		if cont {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDockerfile checks the image without a Docker engine: a multi-stage
// build whose runtime stage is scratch, runs as the UID the templates
// require and starts fieldflow; and the stage's build command, run here,
// gives a static binary without the generator.
func TestDockerfile(t *testing.T) {
	ins := dockerfile(t)
	var froms, copies []string
	var build, user, entry, env, version string
	labels := map[string]string{}
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			froms = append(froms, in.args)
		case "RUN":
			if i := strings.Index(in.args, "go build"); i >= 0 {
				build = in.args
			}
		case "COPY":
			if f := strings.Fields(in.args); strings.HasPrefix(f[0], "--from=") { // into the image
				copies = append(copies, f[len(f)-1])
			}
		case "ENV":
			env = in.args
		case "ARG":
			if v, ok := strings.CutPrefix(in.args, "VERSION="); ok {
				version = v
			}
		case "LABEL":
			for _, kv := range regexp.MustCompile(`(\S+)="([^"]*)"`).FindAllStringSubmatch(in.args, -1) {
				labels[kv[1]] = kv[2]
			}
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = in.args
		}
	}
	// The image `make image` builds without Docker is this one.
	if want := []string{podimage.CACerts, podimage.Entrypoint}; !slices.Equal(copies, want) {
		t.Errorf("COPY into %q, want %q (generator/podimage)", copies, want)
	}
	if env != "PATH="+podimage.Path {
		t.Errorf("ENV %q, want PATH=%s (generator/podimage)", env, podimage.Path)
	}
	for k, v := range podimage.Labels("${VERSION}") {
		if labels[k] != v {
			t.Errorf("LABEL %s=%q, want %q (generator/podimage)", k, labels[k], v)
		}
	}
	if len(labels) != len(podimage.Labels(version)) {
		t.Errorf("LABELs %v, want those of generator/podimage", labels)
	}
	if want := fmt.Sprintf("%d:%d", podimage.UID, podimage.UID); user != want {
		t.Errorf("USER %q, want %s (generator/podimage)", user, want)
	}
	if len(froms) != 2 || !strings.HasPrefix(froms[len(froms)-1], "scratch") {
		t.Errorf("stages %q: want a build stage and a scratch runtime", froms)
	}
	for _, from := range froms[:len(froms)-1] {
		image := strings.Fields(from)[0]
		if !strings.Contains(image, ":") || strings.HasSuffix(image, ":latest") {
			t.Errorf("FROM %s: pin the image by tag", image)
		}
	}
	if want := strconv.FormatInt(templateUID(t), 10); user != want+":"+want {
		t.Errorf("USER %q, want %s:%s, the templates' runAsUser", user, want, want)
	}
	if entry != `["`+podimage.Entrypoint+`"]` {
		t.Errorf("ENTRYPOINT %s, want the fieldflow binary in exec form", entry)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-tags pod", "-trimpath", "./cmd/fieldflow"} {
		if !strings.Contains(build, want) {
			t.Errorf("build command %q lacks %s", build, want)
		}
	}
	checkImageBinary(t, build)
}

// checkImageBinary runs the Dockerfile's go build here and checks what it
// makes: static (no ELF interpreter, so it runs on scratch), small, and
// without the generate subcommand.
func checkImageBinary(t *testing.T, run string) {
	i := strings.Index(run, "CGO_ENABLED=0 go build")
	if i < 0 {
		t.Fatalf("no `CGO_ENABLED=0 go build` in %q", run)
	}
	args, err := splitArgs(strings.TrimPrefix(run[i:], "CGO_ENABLED=0 go "))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "fieldflow")
	for j := range args {
		switch {
		case args[j] == "./cmd/fieldflow":
			args[j] = "."
		case j > 0 && args[j-1] == "-o":
			args[j] = out
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the image binary is dynamically linked: it cannot run on scratch")
		}
	}
	info, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image binary: %.1f MB", float64(info.Size())/1e6)
	if info.Size() > 20<<20 {
		t.Errorf("image binary is %d bytes, want under 20 MiB", info.Size())
	}
	b, _ := exec.Command(out, "generate").CombinedOutput()
	if !strings.Contains(string(b), "unknown subcommand") {
		t.Errorf("the image binary has `generate`, which pulls in the Argo types: %s", b)
	}
}

// splitArgs splits a shell command line with double quotes.
func splitArgs(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	quoted, started := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, started = !quoted, true
		case r == ' ' && !quoted:
			if started {
				out = append(out, cur.String())
				cur.Reset()
				started = false
			}
		default:
			cur.WriteRune(r)
			started = true
		}
	}
	if quoted {
		return nil, strconv.ErrSyntax
	}
	if started {
		out = append(out, cur.String())
	}
	return out, nil
}

// templateUID is the runAsUser of the generated box template's pods.
func templateUID(t *testing.T) int64 {
	b, err := os.ReadFile("../../templates/fieldflow-box.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var wt wfv1.WorkflowTemplate
	if err := yaml.Unmarshal(b, &wt); err != nil {
		t.Fatal(err)
	}
	sc := wt.Spec.SecurityContext
	if sc == nil || sc.RunAsUser == nil {
		t.Fatal("the box template sets no runAsUser")
	}
	return *sc.RunAsUser
}

// TestImage builds the pod image as `make image` does, from a pod build
// stamped with a commit: the binary unpacked from it, as the engine
// unpacks it, prints that commit; and the image pushed to a registry
// (go-containerregistry's, in memory) arrives with the layout's digest.
func TestImage(t *testing.T) {
	dir := t.TempDir()
	pod := filepath.Join(dir, "fieldflow-pod")
	build := exec.Command("go", "build", "-tags", "pod", "-trimpath", "-ldflags", "-s -w -X main.commit=c0ffee", "-o", pod, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	images := filepath.Join(dir, "image")
	config := "../../generator/fieldflow.yaml"
	r := fieldflow(t, nil, "image", "--config", config, "--dir", images, "--binary", runtime.GOOS+"/"+runtime.GOARCH+"="+pod)
	c, err := generator.LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	tag := c.Image
	built := regexp.MustCompile(`^` + regexp.QuoteMeta(tag) + `@(sha256:[0-9a-f]{64})$`).FindStringSubmatch(strings.TrimSpace(r.stdout))
	if r.code != 0 || built == nil {
		t.Fatalf("fieldflow image: exit %d, stdout %q, want %s@DIGEST\n%s", r.code, r.stdout, tag, r.stderr)
	}
	if _, err := os.Stat(podimage.Tarball(images, runtime.GOARCH)); err != nil {
		t.Errorf("no docker-save tarball: %v", err)
	}
	img, err := (&podimage.Store{Dir: images}).Unpack(tag)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := img.Program("fieldflow")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(prog, "version").Output(); err != nil || strings.TrimSpace(string(out)) != "fieldflow c0ffee" {
		t.Errorf("the image's fieldflow version: %q, %v; want fieldflow c0ffee", out, err)
	}

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	to := strings.TrimPrefix(srv.URL, "http://") + "/fieldflow:test"
	r = fieldflow(t, nil, "image", "--config", config, "--dir", images, "--push", to)
	if r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), "@"+built[1]) {
		t.Fatalf("fieldflow image --push: exit %d, stdout %q, want the digest %s\n%s", r.code, r.stdout, built[1], r.stderr)
	}
	ref, err := name.ParseReference(to)
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := pushed.Digest(); d.String() != built[1] {
		t.Errorf("the registry holds %s, the layout %s", d, built[1])
	}
	if r := fieldflow(t, nil, "image", "--config", config, "--dir", t.TempDir(), "--push", to); r.code == 0 || !strings.Contains(r.stderr, "make image") {
		t.Errorf("push of an empty layout: exit %d, %q; want a failure saying `make image`", r.code, r.stderr)
	}
}
