package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// TestTwoEngines: two people on one machine each run `fieldflow run
// --once` with the defaults, at once. Both finish, on metrics addresses of
// their own. The second runs manifests whose pipeline ConfigMap moves
// START_DATE a day later, with no START_DATE in its environment: its
// engine, its pods and its status table all judge by the manifests, and
// every file ends as the direct engine with that setting leaves it.
func TestTwoEngines(t *testing.T) {
	_, fieldflow := binaries(t)
	manifests := t.TempDir()
	for _, d := range []string{"templates", "argo-events"} {
		if err := os.CopyFS(filepath.Join(manifests, d), os.DirFS(filepath.Join("..", "..", "..", "..", d))); err != nil {
			t.Fatal(err)
		}
	}
	cm := filepath.Join(manifests, "templates", pipeline.ConfigMap+".yaml")
	b, err := os.ReadFile(cm)
	if err != nil {
		t.Fatal(err)
	}
	later := strings.Replace(string(b), `START_DATE: "2025-06-02"`, `START_DATE: "2025-06-03"`, 1)
	if later == string(b) {
		t.Fatalf("no START_DATE 2025-06-02 in %s", cm)
	}
	if err := os.WriteFile(cm, []byte(later), 0o644); err != nil {
		t.Fatal(err)
	}

	type engine struct {
		store, state, direct string
		args, directEnv      []string
		out, log             bytes.Buffer
		err                  error
	}
	engines := []*engine{{}, {args: []string{"--manifests", manifests}, directEnv: []string{"START_DATE=2025-06-03"}}}
	for _, e := range engines {
		e.store, e.direct, e.state = t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "state")
		for _, s := range []string{e.store, e.direct} {
			run(t, fieldflow, "sample", "--store", s, "--faults", "--boxes", "1")
		}
	}
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(fieldflow, append([]string{"run", "--once", "--store", e.store, "--state", e.state}, e.args...)...)
			cmd.Env = append(os.Environ(), "START_DATE=")
			cmd.Stdout, cmd.Stderr = &e.out, &e.log
			e.err = cmd.Run()
		}()
	}
	wg.Wait()
	addrs := map[string]bool{}
	for i, e := range engines {
		if e.err != nil {
			t.Fatalf("engine %d: %v\n%s\n%s", i, e.err, e.out.String(), lastLines(e.log.String(), 30))
		}
		m := regexp.MustCompile(`msg=metrics url=(\S+)`).FindStringSubmatch(e.log.String())
		if m == nil {
			t.Fatalf("engine %d logged no metrics address:\n%s", i, lastLines(e.log.String(), 30))
		}
		addrs[m[1]] = true
		runEnv(t, e.directEnv, fieldflow, "run", "--once", "--engine", "direct", "--store", e.direct)
		got, want := states(t, fieldflow, e.store, "START_DATE="+startOf(e.directEnv)), states(t, fieldflow, e.direct, e.directEnv...)
		for key, s := range want {
			if got[key] != s {
				t.Errorf("engine %d: %s is %s, the direct engine with the same settings says %s", i, key, got[key], s)
			}
		}
	}
	if len(addrs) != 2 {
		t.Errorf("both engines served metrics on %v", addrs)
	}
	early := regexp.MustCompile(`(?m)^out-of-range +fields/input/\S+/fields_2025-06-02\S*`)
	if early.MatchString(engines[0].out.String()) {
		t.Errorf("the first engine's table has 2025-06-02 out of range:\n%s", engines[0].out.String())
	}
	if !early.MatchString(engines[1].out.String()) {
		t.Errorf("the second engine's table, START_DATE 2025-06-03 in its manifests, has no 2025-06-02 out of range:\n%s", engines[1].out.String())
	}
}

func startOf(env []string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "START_DATE="); ok {
			return v
		}
	}
	return ""
}
