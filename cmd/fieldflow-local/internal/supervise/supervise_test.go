package supervise

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// TestSupervise: a child that exits is started again, one that is killed
// too, and none is left running once the context ends.
func TestSupervise(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	c := &Child{Name: "test", Dir: filepath.Join(dir, "child"), Command: func(ctx context.Context) *exec.Cmd {
		// The first run exits at once; later ones run until killed.
		return exec.CommandContext(ctx, "sh", "-c", `echo run >> "$0"; [ $(wc -l < "$0") -gt 1 ] && exec sleep 60; echo bye; exit 3`, runs)
	}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { c.Supervise(ctx, slog.Default()); close(done) }()

	waitRuns(t, runs, 2) // restarted after its exit, a second later
	pid := readPID(t, c.Dir)
	c.Kill()
	waitRuns(t, runs, 3) // and after a kill
	if again := readPID(t, c.Dir); again == pid {
		t.Errorf("pid %s after the kill: the same process", again)
	}
	if log, _ := os.ReadFile(c.LogPath()); !strings.Contains(string(log), "bye") {
		t.Errorf("log %q lacks the child's output", log)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Supervise did not return after its context ended")
	}
	if err := exec.Command("kill", "-0", readPID(t, c.Dir)).Run(); err == nil {
		t.Error("the child still runs after the context ended")
	}
}

func waitRuns(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(path)
		if strings.Count(string(b), "run") >= n {
			time.Sleep(50 * time.Millisecond) // its pid file is written just after it starts
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("fewer than %d runs after 10 s", n)
}

func readPID(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(names.PIDFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
