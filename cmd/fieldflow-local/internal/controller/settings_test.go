package controller

import (
	"strings"
	"testing"
)

func patch(env string) []byte {
	return []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: workflow-controller
  namespace: argo
spec:
  template:
    spec:
      containers:
      - name: workflow-controller
        env:
` + env)
}

func TestReadSettings(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		want      Settings
		err       string
	}{
		{name: "defaults", env: "", want: Settings{Workers: 32, QPS: 20, Burst: 30}},
		{name: "all", env: `        - {name: ARGO_EXECUTOR_PLUGINS, value: "true"}
        - {name: ARGO_WORKFLOW_WORKERS, value: "16"}
        - {name: ARGO_QPS, value: "50"}
        - {name: ARGO_BURST, value: "100"}
        - {name: DEFAULT_REQUEUE_TIME, value: 1s}
        - {name: ARGO_AGENT_PATCH_RATE, value: 2s}
`, want: Settings{ExecutorPlugins: true, Workers: 16, QPS: 50, Burst: 100,
			Env: map[string]string{"DEFAULT_REQUEUE_TIME": "1s", "ARGO_AGENT_PATCH_RATE": "2s"}}},
		{name: "unknown setting", env: "        - {name: ARGO_NAMESPACED, value: \"true\"}\n", err: "does not apply this setting"},
		{name: "bad number", env: "        - {name: ARGO_BURST, value: lots}\n", err: "ARGO_BURST"},
		{name: "bad bool", env: "        - {name: ARGO_EXECUTOR_PLUGINS, value: yes please}\n", err: "ARGO_EXECUTOR_PLUGINS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadSettings(patch(tc.env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ExecutorPlugins != tc.want.ExecutorPlugins || got.Workers != tc.want.Workers ||
				got.QPS != tc.want.QPS || got.Burst != tc.want.Burst || len(got.Env) != len(tc.want.Env) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for k, v := range tc.want.Env {
				if got.Env[k] != v {
					t.Errorf("env %s = %q, want %q", k, got.Env[k], v)
				}
			}
		})
	}
}

// TestRenderedSettings: the engine's controller runs with plugins on, as
// the overlay's controller does, and every rendered setting is one the
// engine applies.
func TestRenderedSettings(t *testing.T) {
	s, err := RenderedSettings()
	if err != nil {
		t.Fatal(err)
	}
	if !s.ExecutorPlugins {
		t.Error("the rendered controller patch does not enable executor plugins")
	}
	for _, k := range []string{"DEFAULT_REQUEUE_TIME", "ARGO_AGENT_PATCH_RATE"} {
		if s.Env[k] == "" {
			t.Errorf("the rendered controller patch sets no %s", k)
		}
	}
}
