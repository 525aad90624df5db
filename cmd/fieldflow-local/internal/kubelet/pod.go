package kubelet

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// Names Argo's controller gives pods, containers and their metadata.
const (
	mainContainer  = "main"
	templateEnv    = "ARGO_TEMPLATE"
	nodeIDKey      = "workflows.argoproj.io/node-id"
	workflowLabel  = "workflows.argoproj.io/workflow"
	completedLabel = "workflows.argoproj.io/report-outputs-completed"
	maxResult      = 256 << 10 // what Argo keeps of stdout as outputs.result
)

// outcome is how a pod's main container ended.
type outcome struct {
	exitCode int32
	reason   string // of its terminated state; empty: Error when it failed
	message  string
	outputs  *wfv1.Outputs
}

// refused is the outcome of a container the kubelet does not run: its
// image is not in the store (ErrImagePull), or its command is not in its
// image.
func refused(err error) outcome {
	var pull errPull
	if errors.As(err, &pull) {
		return outcome{exitCode: refusedExit, reason: pullFailed, message: err.Error()}
	}
	return outcome{exitCode: refusedExit, message: err.Error()}
}

func (k *Kubelet) runPod(ctx context.Context, pod *corev1.Pod) error {
	tmpl, err := template(pod)
	if err != nil {
		return k.finish(ctx, pod, outcome{exitCode: 64, message: err.Error()})
	}
	if err := k.setRunning(ctx, pod); err != nil {
		return err
	}
	var out outcome
	if tmpl.Resource != nil {
		out = k.resource(ctx, pod, tmpl)
	} else {
		out = k.process(ctx, pod, tmpl)
	}
	if ctx.Err() != nil && out.exitCode == 0 {
		out = outcome{exitCode: killedExit, message: "killed: pod deleted or deadline passed"}
	}
	if err := k.report(context.WithoutCancel(ctx), pod, out.outputs); err != nil {
		return err
	}
	return k.finish(ctx, pod, out)
}

// template reads the template the controller put in the init container.
func template(pod *corev1.Pod) (*wfv1.Template, error) {
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, e := range c.Env {
			if e.Name != templateEnv {
				continue
			}
			t := &wfv1.Template{}
			if err := json.Unmarshal([]byte(e.Value), t); err != nil {
				return nil, fmt.Errorf("pod %s: %s: %w", pod.Name, templateEnv, err)
			}
			return t, nil
		}
	}
	return nil, fmt.Errorf("pod %s has no %s", pod.Name, templateEnv)
}

func mainOf(pod *corev1.Pod) (corev1.Container, bool) {
	for _, c := range pod.Spec.Containers {
		if c.Name == mainContainer {
			return c, true
		}
	}
	return corev1.Container{}, false
}

// process runs the main container's command, without the executor that
// the controller wraps it in, as a local program.
func (k *Kubelet) process(ctx context.Context, pod *corev1.Pod, tmpl *wfv1.Template) outcome {
	ctr, ok := mainOf(pod)
	if !ok {
		return outcome{exitCode: 64, message: "no main container"}
	}
	prog, err := k.argv(ctr)
	if err != nil {
		return refused(err)
	}
	argv := prog.argv
	dir := filepath.Join(k.WorkDir, pod.Name)
	mounts := volumes{}
	for _, m := range ctr.VolumeMounts {
		rel := filepath.Join("volumes", m.Name)
		if err := os.MkdirAll(filepath.Join(dir, rel), 0o755); err != nil {
			return outcome{exitCode: 64, message: err.Error()}
		}
		mounts[m.MountPath] = rel
	}
	for i := range argv[1:] {
		argv[i+1] = mounts.remap(dir, argv[i+1])
	}
	env, err := k.env(ctx, pod, ctr, prog.env)
	if err != nil {
		return outcome{exitCode: 64, message: err.Error()}
	}
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*d)*time.Second)
		defer cancel()
	}
	var stdout bytes.Buffer
	runErr := k.exec(ctx, dir, ctr.Name, argv, env, &stdout)
	out := outcome{outputs: &wfv1.Outputs{}}
	var exitErr *exec.ExitError
	switch {
	case errors.As(runErr, &exitErr):
		out.exitCode = int32(exitErr.ExitCode())
		if out.exitCode < 0 {
			out.exitCode = killedExit
		}
		out.message = lastLine(filepath.Join(dir, stderrName(ctr.Name)))
	case runErr != nil:
		return outcome{exitCode: 64, message: runErr.Error()}
	}
	result := strings.TrimSuffix(stdout.String(), "\n")
	if len(result) > maxResult {
		result = result[len(result)-maxResult:]
	}
	out.outputs.Result = &result
	params, err := parameters(tmpl, dir, mounts)
	if err != nil && out.exitCode == 0 {
		return outcome{exitCode: 1, message: err.Error(), outputs: out.outputs}
	}
	out.outputs.Parameters = params
	return out
}

// exec runs argv in dir as the container named ctr. Its stdout is kept in
// stdout (outputs.result) and its stderr in stderrName(ctr) (the failure
// message), and both go to the container log the log API serves, as a
// container runtime writes it. files are handed to the process from file
// descriptor 3 on (a listening socket, for socket activation).
func (k *Kubelet) exec(ctx context.Context, dir, ctr string, argv, env []string, stdout io.Writer, files ...*os.File) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stderrLog, err := os.Create(filepath.Join(dir, stderrName(ctr)))
	if err != nil {
		return err
	}
	defer stderrLog.Close()
	combined, err := createLogFile(filepath.Join(dir, logName(ctr)))
	if err != nil {
		return err
	}
	defer combined.Close()
	outLog, errLog := combined.stream(streamStdout), combined.stream(streamStderr)
	defer errLog.Close()
	defer outLog.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env, cmd.ExtraFiles = dir, env, files
	cmd.Stdout, cmd.Stderr = io.MultiWriter(stdout, outLog), io.MultiWriter(stderrLog, errLog)
	// The process dies with the engine, as a container dies with its node:
	// the next start fails the pod instead of leaving it to run unseen.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd.Run()
}

// logName is a container's log in its pod folder.
func logName(ctr string) string { return ctr + ".log" }

// stderrName keeps a container's stderr alone, for its failure message.
func stderrName(ctr string) string { return ctr + ".stderr" }

func lastLine(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// report creates the WorkflowTaskResult the controller waits for: without
// it, a template that declares outputs never completes.
func (k *Kubelet) report(ctx context.Context, pod *corev1.Pod, outputs *wfv1.Outputs) error {
	nodeID := pod.Annotations[nodeIDKey]
	wf := pod.Labels[workflowLabel]
	if nodeID == "" || wf == "" {
		return fmt.Errorf("pod %s has no node id or workflow label", pod.Name)
	}
	tr := &wfv1.WorkflowTaskResult{
		ObjectMeta: metav1.ObjectMeta{
			Name:            nodeID,
			Labels:          map[string]string{workflowLabel: wf, completedLabel: "true"},
			OwnerReferences: pod.OwnerReferences,
		},
		NodeResult: wfv1.NodeResult{Outputs: outputs, Progress: "1/1"},
	}
	_, err := k.Argo.ArgoprojV1alpha1().WorkflowTaskResults(pod.Namespace).Create(ctx, tr, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("report outputs of %s: %w", pod.Name, err)
	}
	return nil
}

func (k *Kubelet) setRunning(ctx context.Context, pod *corev1.Pod) error {
	now := metav1.Now()
	return k.setStatus(ctx, pod, func(st *corev1.PodStatus) {
		st.Phase = corev1.PodRunning
		st.StartTime = &now
		st.ContainerStatuses = nil
		for _, c := range pod.Spec.Containers {
			st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, Ready: true, Started: ptr(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
			})
		}
	})
}

// finish sets the final phase; the main container ends with the process's
// exit code, the others with 0.
func (k *Kubelet) finish(ctx context.Context, pod *corev1.Pod, out outcome) error {
	now := metav1.Now()
	// The pod's own context may be over (deadline): finishing must not be.
	return k.setStatus(context.WithoutCancel(ctx), pod, func(st *corev1.PodStatus) {
		if st.StartTime == nil {
			st.StartTime = &now
		}
		st.Phase = corev1.PodSucceeded
		if out.exitCode != 0 {
			st.Phase = corev1.PodFailed
			st.Message = out.message
		}
		st.ContainerStatuses = nil
		for _, c := range pod.Spec.Containers {
			code, reason, msg := int32(0), "Completed", ""
			if c.Name == mainContainer && out.exitCode != 0 {
				code, reason, msg = out.exitCode, cmp.Or(out.reason, "Error"), out.message
			}
			st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, ImageID: k.imageID(c),
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: code, Reason: reason, Message: msg, StartedAt: *st.StartTime, FinishedAt: now,
				}},
			})
		}
	})
}

// setStatus applies change to the pod's latest status, retrying on
// conflicts with the controller's own updates.
func (k *Kubelet) setStatus(ctx context.Context, pod *corev1.Pod, change func(*corev1.PodStatus)) error {
	pods := k.Kube.CoreV1().Pods(pod.Namespace)
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		latest, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(&latest.Status)
		_, err = pods.UpdateStatus(ctx, latest, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("pod %s status: %w", pod.Name, err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
