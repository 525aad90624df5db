package deploy

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestControllerEnv pins the names the controller reads each setting
// from: its flags through viper (ARGO_ and the flag, dashes as
// underscores), the requeue time and the agent's patch rate directly.
func TestControllerEnv(t *testing.T) {
	want := map[string]string{
		"ARGO_EXECUTOR_PLUGINS": "true",
		"DEFAULT_REQUEUE_TIME":  "1s",
		"ARGO_AGENT_PATCH_RATE": "1s",
		"ARGO_WORKFLOW_WORKERS": "32",
		"ARGO_QPS":              "100",
		"ARGO_BURST":            "200",
	}
	got := DefaultController().Env()
	if len(got) != len(want) {
		t.Fatalf("env %v, want %v", got, want)
	}
	for _, e := range got {
		if v, ok := want[e.Name]; !ok || e.Value != v || e.ValueFrom != nil {
			t.Errorf("%s=%q, want %q", e.Name, e.Value, v)
		}
	}
	for flag, env := range map[string]string{"executor-plugins": "ARGO_EXECUTOR_PLUGINS", "workflow-workers": "ARGO_WORKFLOW_WORKERS", "qps": "ARGO_QPS"} {
		if got := flagEnv(flag); got != env {
			t.Errorf("flag --%s reads %s, want %s", flag, got, env)
		}
	}
}

func TestControllerValidate(t *testing.T) {
	second := metav1.Duration{Duration: time.Second}
	for _, tc := range []struct {
		name string
		edit func(*Controller)
		err  string // in the error; empty for none
	}{
		{"defaults", func(*Controller) {}, ""},
		{"fractional QPS", func(c *Controller) { c.QPS = 0.5 }, ""},
		{"requeue under a second", func(c *Controller) { c.RequeueTime = metav1.Duration{Duration: 500 * time.Millisecond} }, "requeueTime"},
		{"no patch rate", func(c *Controller) { c.AgentPatchRate = metav1.Duration{} }, "agentPatchRate"},
		{"no workers", func(c *Controller) { c.WorkflowWorkers = 0 }, "workflowWorkers"},
		{"no QPS", func(c *Controller) { c.QPS = 0 }, "qps"},
		{"no burst", func(c *Controller) { c.Burst = 0 }, "burst"},
		{"slow requeue", func(c *Controller) { c.RequeueTime = metav1.Duration{Duration: 10 * second.Duration} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultController()
			tc.edit(&c)
			err := c.Validate()
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("Validate() = %v, want an error about %q", err, tc.err)
			}
			if _, perr := controllerPatch(c); (perr == nil) != (err == nil) {
				t.Errorf("controllerPatch: %v, Validate: %v", perr, err)
			}
		})
	}
}
