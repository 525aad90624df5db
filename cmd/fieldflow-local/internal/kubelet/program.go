package kubelet

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/fieldflow/fieldflow/generator/podimage"
)

// refusedExit is the main container's exit code when its command is not
// one the kubelet may run: 126, the shell's "cannot execute".
const refusedExit = 126

// pullFailed is the reason a container ends with when its image is not
// in the store, as a kubelet reports a pull that failed.
const pullFailed = "ErrImagePull"

// errPull marks an image the store does not hold.
type errPull struct{ error }

// program is what the kubelet runs for a container: the command line, by
// the absolute path of a file of the container's image, with Argo's
// executor wrapper dropped; and the image's environment.
type program struct {
	argv []string
	env  []string // the image's, under the container's own
}

// argv resolves a container's command in its image, as a container
// runtime does: the image must be in the engine's image store (the OCI
// layout `make image` writes), and the command a file in it (a bare name
// on the image's PATH; no command, the image's entrypoint). Pods run as
// this user, on this machine, so this is what confines them: a pod runs
// only what its image holds, never a shell or a program of this machine.
func (k *Kubelet) argv(ctr corev1.Container) (program, error) {
	argv := append(unwrap(ctr.Command), ctr.Args...)
	img, err := k.Images.Unpack(ctr.Image)
	if errors.Is(err, podimage.ErrNotFound) {
		return program{}, errPull{fmt.Errorf("container %q: %w", ctr.Name, err)}
	}
	if err != nil {
		return program{}, fmt.Errorf("container %q: %w", ctr.Name, err)
	}
	if len(ctr.Command) == 0 {
		argv = append(append([]string{}, img.Config.Entrypoint...), ctr.Args...)
	}
	if len(argv) == 0 {
		return program{}, fmt.Errorf("container %q has no command and image %s no entrypoint", ctr.Name, ctr.Image)
	}
	p, err := img.Program(argv[0])
	if err != nil {
		return program{}, fmt.Errorf("container %q: %w", ctr.Name, err)
	}
	argv[0] = p
	return program{argv: argv, env: img.Config.Env}, nil
}

// agentArgv is argv for an agent pod's containers, which may also run
// Argo's agent ("argoexec agent ...", Argo's own code as k.Agent), and
// nothing else of its program.
func (k *Kubelet) agentArgv(ctr corev1.Container) (program, error) {
	argv := append(unwrap(ctr.Command), ctr.Args...)
	if len(argv) == 0 || argv[0] != argoexec {
		return k.argv(ctr)
	}
	if len(argv) < 2 || argv[1] != "agent" {
		return program{}, fmt.Errorf("container %q runs %s %v: an agent pod's argoexec runs only `agent`", ctr.Name, argoexec, argv[1:])
	}
	argv[0] = k.Agent
	return program{argv: argv}, nil
}

// argoexec is the command of Argo's executor in the pods its controller
// makes.
const argoexec = "argoexec"

// imageID is what a kubelet reports as a container's image ID: the digest
// of the image it ran, empty for one that is not fieldflow's.
func (k *Kubelet) imageID(ctr corev1.Container) string {
	img, err := k.Images.Unpack(ctr.Image)
	if err != nil {
		return ""
	}
	return img.Digest.String()
}

// unwrap drops Argo's emissary wrapper: argoexec emissary [flags] -- cmd...
func unwrap(command []string) []string {
	for i, a := range command {
		if a == "--" && i > 0 && strings.HasSuffix(command[0], "argoexec") {
			return append([]string{}, command[i+1:]...)
		}
	}
	return append([]string{}, command...)
}
