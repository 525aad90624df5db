package kubelet

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestArgv: only the fieldflow binary runs, by its absolute path, also
// behind Argo's emissary wrapper; anything else is refused by name.
func TestArgv(t *testing.T) {
	k := &Kubelet{Programs: map[string]string{"fieldflow": "/opt/bin/fieldflow-pod"}}
	const emissary = "/var/run/argo/argoexec"
	for _, tc := range []struct {
		name    string
		command []string
		args    []string
		want    []string
		wantErr string
	}{
		{"fieldflow", []string{"fieldflow"}, []string{"process", "--key", "k"}, []string{"/opt/bin/fieldflow-pod", "process", "--key", "k"}, ""},
		{"fieldflow under emissary", []string{emissary, "emissary", "--loglevel", "info", "--", "fieldflow"}, []string{"check"}, []string{"/opt/bin/fieldflow-pod", "check"}, ""},
		{"shell", []string{"sh", "-c", "touch /tmp/x"}, nil, nil, `fieldflow-local runs only the fieldflow binary; container "main" wants "sh"`},
		{"shell under emissary", []string{emissary, "emissary", "--", "sh"}, []string{"-c", "id"}, nil, `container "main" wants "sh"`},
		{"absolute path to a shell", []string{"/bin/sh"}, nil, nil, `wants "/bin/sh"`},
		{"the executor itself", []string{emissary, "emissary"}, nil, nil, `wants "` + emissary + `"`},
		{"command from args", nil, []string{"sh"}, nil, `wants "sh"`},
		{"no command", nil, nil, nil, "has no command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := k.argv(corev1.Container{Name: "main", Command: tc.command, Args: tc.args})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("argv = %q, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("argv = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestArgvRelativeProgram: a program named without a path would be looked
// up on PATH; it is refused instead.
func TestArgvRelativeProgram(t *testing.T) {
	k := &Kubelet{Programs: map[string]string{"fieldflow": "fieldflow"}}
	if got, err := k.argv(corev1.Container{Name: "main", Command: []string{"fieldflow"}}); err == nil {
		t.Errorf("argv = %q, want an error", got)
	}
}

// TestAgentArgv: an agent pod's containers also run Argo's agent, as the
// engine's own `agent` subcommand and nothing else of it; a workflow
// pod's never do.
func TestAgentArgv(t *testing.T) {
	k := &Kubelet{Programs: map[string]string{"fieldflow": "/opt/bin/fieldflow-pod"}, Agent: "/opt/bin/fieldflow-local"}
	for _, tc := range []struct {
		name    string
		command []string
		args    []string
		want    []string
		wantErr string
	}{
		{"agent main", []string{"argoexec"}, []string{"agent", "main", "--loglevel", "info"}, []string{"/opt/bin/fieldflow-local", "agent", "main", "--loglevel", "info"}, ""},
		{"plugin sidecar", []string{"fieldflow"}, []string{"plugin"}, []string{"/opt/bin/fieldflow-pod", "plugin"}, ""},
		{"the engine's other commands", []string{"argoexec"}, []string{"up", "--store", "/"}, nil, "runs only `agent`"},
		{"argoexec alone", []string{"argoexec"}, nil, nil, "runs only `agent`"},
		{"shell", []string{"sh"}, nil, nil, `wants "sh"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := k.agentArgv(corev1.Container{Name: "main", Command: tc.command, Args: tc.args})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("agentArgv = %q, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("agentArgv = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if got, err := k.argv(corev1.Container{Name: "main", Command: []string{"argoexec"}, Args: []string{"agent", "main"}}); err == nil {
		t.Errorf("a workflow pod's argv = %q, want argoexec refused", got)
	}
}
