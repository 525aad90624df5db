// Package supervise runs the engine's child processes (the event path's,
// Argo's server) as Kubernetes runs a pod's container: started again when
// it exits, with a backoff that grows while it keeps failing fast, its
// output in a log file of its own, and killed when the engine dies.
package supervise

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// Child is one supervised process.
type Child struct {
	Name string // in the engine's log
	Dir  string // its folder: log, pid
	// Command makes the command of one run; Run sets its output and its
	// death with the engine.
	Command func(ctx context.Context) *exec.Cmd

	mu   sync.Mutex
	proc *os.Process // the running process, nil between runs
}

// LogPath is where the child's output goes.
func (c *Child) LogPath() string { return filepath.Join(c.Dir, "log") }

// Supervise runs the child until ctx ends, restarting it when it exits.
func (c *Child) Supervise(ctx context.Context, log *slog.Logger) {
	backoff := time.Second
	for restarts := 0; ctx.Err() == nil; restarts++ {
		t0 := time.Now()
		err := c.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(t0) > time.Minute {
			backoff = time.Second
		}
		log.Warn("child process exited; restarting", "process", c.Name, "err", err, "after", backoff, "restarts", restarts+1, "log", c.LogPath())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// Run starts the child once and waits for it. It dies with the engine.
func (c *Child) Run(ctx context.Context) error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	logf, err := os.OpenFile(c.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := c.Command(ctx)
	cmd.Stdout, cmd.Stderr = logf, logf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.Name, err)
	}
	os.WriteFile(names.PIDFile(c.Dir), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
	c.setProc(cmd.Process)
	defer c.setProc(nil)
	return cmd.Wait()
}

func (c *Child) setProc(p *os.Process) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.proc = p
}

// Kill ends the running process, for Supervise to start it again.
func (c *Child) Kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		c.proc.Kill()
	}
}
