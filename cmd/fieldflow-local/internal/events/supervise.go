package events

import (
	"context"
	"os"
	"os/exec"
	"syscall"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/supervise"
)

// child is one process of the event path: `fieldflow-events KIND DIR`.
type child struct {
	supervise.Child
	kind    string
	env     []string // on top of the engine's
	mountNS bool     // sees SecretsRoot(dir) as /argo-events
	bin     string   // fieldflow-events
}

func newChild(kind, name, dir string, mountNS bool) *child {
	c := &child{kind: kind, mountNS: mountNS}
	c.Name, c.Dir = name, dir
	c.Command = c.command
	return c
}

func (c *child) command(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, c.kind, c.Dir)
	cmd.Env = append(os.Environ(), c.env...)
	if c.mountNS {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
		privateMounts(cmd.SysProcAttr)
	}
	return cmd
}
