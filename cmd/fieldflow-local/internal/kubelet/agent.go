package kubelet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/argoproj/argo-workflows/v3/workflow/common"
	corev1 "k8s.io/api/core/v1"
)

// agentComponent is the component label Argo's controller gives the pod
// that runs a workflow's HTTP and plugin nodes (workflow/controller/agent.go).
const agentComponent = "agent"

// isAgent says whether pod is a workflow's agent pod.
func isAgent(pod *corev1.Pod) bool { return pod.Labels[common.LabelKeyComponent] == agentComponent }

// Restart backoff of a failed container of a pod that restarts (an agent
// pod's restartPolicy is OnFailure): shorter than a kubelet's 10 s to
// 5 min, since a restart here is a process start.
const (
	restartBackoff    = time.Second
	restartBackoffCap = 10 * time.Second
)

// runAgent runs an agent pod whole, as a kubelet runs any pod: its init
// container, then all its containers, the executor plugins' sidecars
// beside the agent's main container, which runs Argo's agent (the
// "argoexec" program). The pod ends when the main container ends well:
// when its workflow is done. A container that fails is restarted, as
// restartPolicy OnFailure asks.
//
// Pods share this machine's network, so each sidecar gets a loopback
// socket of its own instead of the port its manifest names (systemd's
// socket activation: LISTEN_FDS=1, the socket on file descriptor 3), and
// the agent is told those addresses in ARGO_PLUGIN_ADDRESSES. The socket
// outlives a sidecar's restart, so the address stays good.
func (k *Kubelet) runAgent(ctx context.Context, pod *corev1.Pod) error {
	if err := k.setRunning(ctx, pod); err != nil {
		return err
	}
	out := k.agent(ctx, pod, filepath.Join(k.WorkDir, pod.Name))
	if ctx.Err() != nil && out.exitCode == 0 {
		out = outcome{exitCode: killedExit, message: "killed: pod deleted"}
	}
	return k.finish(ctx, pod, out)
}

func (k *Kubelet) agent(ctx context.Context, pod *corev1.Pod, dir string) outcome {
	vols, err := k.podVolumes(ctx, pod, dir)
	if err != nil {
		return outcome{exitCode: 64, message: err.Error()}
	}
	for _, c := range pod.Spec.InitContainers {
		// Under restartPolicy OnFailure a failed init container is run
		// again, not the pod failed: a failed agent pod would fail every
		// plugin node of its workflow, and every retry of them.
		if out := k.restarting(ctx, pod, c.Name, func() outcome { return k.container(ctx, pod, dir, c, vols, nil) }); out.exitCode != 0 {
			out.message = fmt.Sprintf("init container %s: %s", c.Name, out.message)
			return out
		}
	}
	sidecars, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var addrs []string
	var main corev1.Container
	for _, c := range pod.Spec.Containers {
		if c.Name == mainContainer {
			main = c
			continue
		}
		sock, addr, err := loopbackSocket()
		if err != nil {
			return outcome{exitCode: 64, message: err.Error()}
		}
		defer sock.Close()
		addrs = append(addrs, "http://"+addr)
		env := map[string]string{"LISTEN_FDS": "1"}
		wg.Add(1)
		go func() {
			defer wg.Done()
			k.restarting(sidecars, pod, c.Name, func() outcome { return k.container(sidecars, pod, dir, c, vols, env, sock) })
		}()
	}
	if main.Name == "" {
		return outcome{exitCode: 64, message: "no main container"}
	}
	addresses, err := json.Marshal(addrs)
	if err != nil {
		return outcome{exitCode: 64, message: err.Error()}
	}
	env := map[string]string{common.EnvVarPluginAddresses: string(addresses)}
	return k.restarting(ctx, pod, main.Name, func() outcome { return k.container(ctx, pod, dir, main, vols, env) })
}

// restarting runs a container until it ends well or ctx ends, again after
// a backoff each time it fails.
func (k *Kubelet) restarting(ctx context.Context, pod *corev1.Pod, ctr string, run func() outcome) outcome {
	wait := restartBackoff
	for {
		out := run()
		if out.exitCode == 0 || ctx.Err() != nil {
			return out
		}
		k.Log.Warn("container failed; restarting it", "pod", pod.Name, "container", ctr, "exit", out.exitCode, "message", out.message, "in", wait)
		select {
		case <-ctx.Done():
			return out
		case <-time.After(wait):
		}
		wait = min(2*wait, restartBackoffCap)
	}
}

// loopbackSocket listens on a free loopback port and returns the socket
// as a file to hand to a process, and its address.
func loopbackSocket() (*os.File, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("sidecar socket: %w", err)
	}
	defer l.Close() // the file is a copy of the socket, which stays open
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		return nil, "", fmt.Errorf("sidecar socket: %w", err)
	}
	return f, l.Addr().String(), nil
}

// container runs one container of a pod that runs whole (an agent pod):
// its program with its arguments pointed at the pod's folders, its
// environment, where the API server is, the mount table (MountsEnv), and
// env over all of it; files go to the process from descriptor 3 on.
func (k *Kubelet) container(ctx context.Context, pod *corev1.Pod, dir string, ctr corev1.Container, vols map[string]string, env map[string]string, files ...*os.File) outcome {
	prog, err := k.agentArgv(ctr)
	if err != nil {
		return refused(err)
	}
	argv := prog.argv
	mounts, err := mountsOf(ctr, vols)
	if err != nil {
		return outcome{exitCode: 64, message: err.Error()}
	}
	for i := range argv[1:] {
		argv[i+1] = mounts.remap(dir, argv[i+1])
	}
	over, err := k.inClusterEnv()
	if err != nil {
		return outcome{exitCode: 64, message: err.Error()}
	}
	abs := map[string]string{}
	for path, rel := range mounts {
		abs[path] = filepath.Join(dir, rel)
	}
	table, err := json.Marshal(abs)
	if err != nil {
		return outcome{exitCode: 64, message: err.Error()}
	}
	over[MountsEnv] = string(table)
	maps.Copy(over, env)
	vars, err := k.env(ctx, pod, ctr, prog.env, over)
	if err != nil {
		return outcome{exitCode: 64, message: err.Error()}
	}
	runErr := k.exec(ctx, dir, ctr.Name, argv, vars, io.Discard, files...)
	var exitErr *exec.ExitError
	switch {
	case errors.As(runErr, &exitErr):
		code := int32(exitErr.ExitCode())
		if code < 0 {
			code = killedExit
		}
		return outcome{exitCode: code, message: lastLine(filepath.Join(dir, stderrName(ctr.Name)))}
	case runErr != nil:
		return outcome{exitCode: 64, message: runErr.Error()}
	}
	return outcome{}
}
