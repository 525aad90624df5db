package events

import (
	"context"
	"os"
	"os/exec"
	"syscall"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/supervise"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// child is one process of the event path: `fieldflow-events KIND DIR`.
type child struct {
	supervise.Child
	kind    string
	env     []string // on top of the engine's
	mountNS bool     // sees SecretsRoot(dir) as /argo-events
	bin     string   // fieldflow-events
}

// newChild is the event path's process name, in its folder of the state
// folder (names.EventsChild).
func newChild(kind, state, name string, mountNS bool) *child {
	c := &child{kind: kind, mountNS: mountNS}
	c.Name, c.Dir = name, names.EventsChild(state, name)
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
