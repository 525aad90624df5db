package events

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
)

// child is one process of the event path.
type child struct {
	kind, name string
	dir        string   // its folder: log, pid, metrics socket, secrets
	env        []string // on top of the engine's
	mountNS    bool     // sees SecretsRoot(dir) as /argo-events
	bin        string   // fieldflow-events

	mu   sync.Mutex
	proc *os.Process // the running process, nil between runs
}

func (c *child) logPath() string { return filepath.Join(c.dir, "log") }

// PIDFile is where the running process of an event path child writes its
// process id: eventbus, eventsource-NAME or sensor-NAME.
func PIDFile(stateDir, name string) string { return filepath.Join(Dir(stateDir), name, "pid") }

// supervise runs the child until ctx ends, restarting it when it exits,
// with a backoff that grows while it keeps failing fast.
func (c *child) supervise(ctx context.Context, log *slog.Logger) {
	backoff := time.Second
	for restarts := 0; ctx.Err() == nil; restarts++ {
		t0 := time.Now()
		err := c.run(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(t0) > time.Minute {
			backoff = time.Second
		}
		log.Warn("event path process exited; restarting", "process", c.name, "err", err, "after", backoff, "restarts", restarts+1, "log", c.logPath())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// run starts the child once and waits for it. It dies with the engine.
func (c *child) run(ctx context.Context) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	logf, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, c.bin, c.kind, c.dir)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if c.mountNS {
		privateMounts(cmd.SysProcAttr)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.name, err)
	}
	os.WriteFile(filepath.Join(c.dir, "pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
	c.setProc(cmd.Process)
	defer c.setProc(nil)
	return cmd.Wait()
}

func (c *child) setProc(p *os.Process) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.proc = p
}

// kill ends the running process, for supervise to start it again.
func (c *child) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		c.proc.Kill()
	}
}
