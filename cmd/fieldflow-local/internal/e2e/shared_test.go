package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// upEngine is a `fieldflow-local up` on a store of sample data, which
// tests submit workflows to by hand (argo, kubectl, client-go).
type upEngine struct {
	dir        string // temporary folder: store, state, engine log
	store      string // `fieldflow sample --boxes 1` wrote it
	state      string
	kubeconfig string
	namespace  string
	log        string        // the engine's stderr
	startup    time.Duration // from start to the kubeconfig printed
	cmd        *exec.Cmd
}

var (
	upOnce   sync.Once
	upShared *upEngine
	upErr    error
)

// sharedUp returns the test binary's one `up` engine, starting it for the
// first test that asks: it takes seconds to start and 1 GB to run, and the
// tests that use it do not disturb each other. TestMain stops it.
//
// Tests sharing it see what earlier ones left: TestDeploy applies the
// minikube overlay's objects (the release's CRDs among them) over the
// engine's namespace; the tests after
// it submit templates of their own.
func sharedUp(t *testing.T) *upEngine {
	t.Helper()
	local, fieldflow := binaries(t)
	upOnce.Do(func() { upShared, upErr = startUp(local, fieldflow) })
	if upErr != nil {
		t.Fatalf("fieldflow-local up: %v", upErr)
	}
	return upShared
}

// stopSharedUp stops the shared engine, if a test started it.
func stopSharedUp() {
	if upShared != nil {
		if err := upShared.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop shared fieldflow-local up:", err)
		}
	}
}

func startUp(local, fieldflow string) (*upEngine, error) {
	dir, err := os.MkdirTemp("", "fieldflow-up-")
	if err != nil {
		return nil, err
	}
	e := &upEngine{dir: dir, store: filepath.Join(dir, "store"), state: filepath.Join(dir, "state"), log: filepath.Join(dir, "engine.log")}
	if out, err := exec.Command(fieldflow, "sample", "--store", e.store, "--boxes", "1").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("fieldflow sample: %v\n%s", err, out)
	}
	if err := e.start(local); err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

// start runs up and waits for the kubeconfig path, its first line on stdout.
func (e *upEngine) start(local string) error {
	logFile, err := os.Create(e.log)
	if err != nil {
		return err
	}
	defer logFile.Close()
	e.cmd = exec.Command(local, "up", "--store", e.store, "--state", e.state, "--metrics-addr", "127.0.0.1:0")
	e.cmd.Stderr = logFile
	stdout, err := e.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := e.cmd.Start(); err != nil {
		return err
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case e.kubeconfig = <-line:
	case <-time.After(5 * time.Minute):
	}
	if e.kubeconfig == "" {
		return fmt.Errorf("no kubeconfig path on stdout within 5 minutes; engine log:\n%s", e.tail(30))
	}
	e.startup = time.Since(t0)
	e.namespace = "fieldflow" // the generated manifests'
	return nil
}

// stop interrupts the engine, waits a minute for it, and removes its folder.
func (e *upEngine) stop() error {
	defer os.RemoveAll(e.dir)
	if e.cmd == nil || e.cmd.Process == nil {
		return nil
	}
	_ = e.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- e.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		_ = e.cmd.Process.Kill()
		return errors.New("still running a minute after SIGINT")
	}
}

// tail is the last n lines of the engine's log.
func (e *upEngine) tail(n int) string {
	b, _ := os.ReadFile(e.log)
	return lastLines(string(b), n)
}

// env is the environment of a client of the engine.
func (e *upEngine) env() []string {
	return append(os.Environ(), "KUBECONFIG="+e.kubeconfig)
}

// boxKey is the sample's bounding box input.
func (e *upEngine) boxKey(t *testing.T) string {
	t.Helper()
	var keys []string
	root := filepath.Join(e.store, "boxes", "input")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(e.store, path)
			keys = append(keys, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil || len(keys) == 0 {
		t.Fatalf("no bounding box in the sample under %s: %v", root, err)
	}
	return keys[0]
}
