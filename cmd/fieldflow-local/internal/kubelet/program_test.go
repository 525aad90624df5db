package kubelet

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestArgv: only the fieldflow binary runs, by its absolute path, also
// behind Argo's emissary wrapper; anything else is refused by name. An
// agent pod's containers also run Argo's agent, as the engine's `agent`
// subcommand and nothing else of it; a workflow pod's never do.
func TestArgv(t *testing.T) {
	k := &Kubelet{Programs: map[string]string{"fieldflow": "/opt/bin/fieldflow-pod"}, Agent: "/opt/bin/fieldflow-local"}
	const emissary = "/var/run/argo/argoexec"
	const agent, workflow = true, false
	for _, tc := range []struct {
		name    string
		agent   bool // a container of an agent pod
		command []string
		args    []string
		want    []string
		wantErr string
	}{
		{"fieldflow", workflow, []string{"fieldflow"}, []string{"process", "--key", "k"}, []string{"/opt/bin/fieldflow-pod", "process", "--key", "k"}, ""},
		{"fieldflow under emissary", workflow, []string{emissary, "emissary", "--loglevel", "info", "--", "fieldflow"}, []string{"check"}, []string{"/opt/bin/fieldflow-pod", "check"}, ""},
		{"shell", workflow, []string{"sh", "-c", "touch /tmp/x"}, nil, nil, `fieldflow-local runs only the fieldflow binary; container "main" wants "sh"`},
		{"shell under emissary", workflow, []string{emissary, "emissary", "--", "sh"}, []string{"-c", "id"}, nil, `container "main" wants "sh"`},
		{"absolute path to a shell", workflow, []string{"/bin/sh"}, nil, nil, `wants "/bin/sh"`},
		{"the executor itself", workflow, []string{emissary, "emissary"}, nil, nil, `wants "` + emissary + `"`},
		{"command from args", workflow, nil, []string{"sh"}, nil, `wants "sh"`},
		{"no command", workflow, nil, nil, nil, "has no command"},
		{"argoexec in a workflow pod", workflow, []string{"argoexec"}, []string{"agent", "main"}, nil, `wants "argoexec"`},
		{"agent main", agent, []string{"argoexec"}, []string{"agent", "main", "--loglevel", "info"}, []string{"/opt/bin/fieldflow-local", "agent", "main", "--loglevel", "info"}, ""},
		{"plugin sidecar", agent, []string{"fieldflow"}, []string{"plugin"}, []string{"/opt/bin/fieldflow-pod", "plugin"}, ""},
		{"the engine's other commands", agent, []string{"argoexec"}, []string{"up", "--store", "/"}, nil, "runs only `agent`"},
		{"argoexec alone", agent, []string{"argoexec"}, nil, nil, "runs only `agent`"},
		{"shell in an agent pod", agent, []string{"sh"}, nil, nil, `wants "sh"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			argv := k.argv
			if tc.agent {
				argv = k.agentArgv
			}
			got, err := argv(corev1.Container{Name: "main", Command: tc.command, Args: tc.args})
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
