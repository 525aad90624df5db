package kubelet

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// refusedExit is the main container's exit code when its command is not
// one the kubelet may run: 126, the shell's "cannot execute".
const refusedExit = 126

// argv is the command line the kubelet runs for a container: Argo's
// executor wrapper dropped, and the command one of Programs, named by its
// absolute path. Pods run as this user, on this machine, with no image
// around them: so a pod runs only the binary an image would hold, never
// whatever its command names on PATH (a shell, curl, an editor).
func (k *Kubelet) argv(ctr corev1.Container) ([]string, error) {
	return k.argvOf(ctr, k.Programs)
}

// agentArgv is argv for an agent pod's containers, which may also run
// Argo's agent ("argoexec agent ..."), and nothing else of its program.
func (k *Kubelet) agentArgv(ctr corev1.Container) ([]string, error) {
	programs := maps.Clone(k.Programs)
	programs[argoexec] = k.Agent
	argv, err := k.argvOf(ctr, programs)
	if err == nil && argv[0] == k.Agent && (len(argv) < 2 || argv[1] != "agent") {
		return nil, fmt.Errorf("container %q runs %s %v: an agent pod's argoexec runs only `agent`", ctr.Name, argoexec, argv[1:])
	}
	return argv, err
}

// argoexec is the command of Argo's executor in the pods its controller
// makes.
const argoexec = "argoexec"

func (k *Kubelet) argvOf(ctr corev1.Container, programs map[string]string) ([]string, error) {
	argv := append(unwrap(ctr.Command), ctr.Args...)
	if len(argv) == 0 {
		return nil, fmt.Errorf("container %q has no command: %s", ctr.Name, k.runsOnly())
	}
	p, ok := programs[argv[0]]
	if !ok || p == "" {
		return nil, fmt.Errorf("%s; container %q wants %q", k.runsOnly(), ctr.Name, argv[0])
	}
	// A relative name would be looked up on PATH by exec.
	if !filepath.IsAbs(p) {
		return nil, fmt.Errorf("program %s for %q is no absolute path", p, argv[0])
	}
	argv[0] = p
	return argv, nil
}

// runsOnly says which commands pods may run.
func (k *Kubelet) runsOnly() string {
	names := slices.Sorted(maps.Keys(k.Programs))
	return fmt.Sprintf("fieldflow-local runs only the %s binary", strings.Join(names, " or "))
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
