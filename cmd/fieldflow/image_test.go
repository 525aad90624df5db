package main

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"
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
	var froms []string
	var build, user, entry string
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			froms = append(froms, in.args)
		case "RUN":
			if i := strings.Index(in.args, "go build"); i >= 0 {
				build = in.args
			}
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = in.args
		}
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
	if entry != `["/usr/local/bin/fieldflow"]` {
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
