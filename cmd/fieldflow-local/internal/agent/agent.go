// Package agent is Argo's agent as the process kubelet runs an agent
// pod's containers: `fieldflow-local agent init|main` is what the argoexec
// image's `argoexec agent init|main` does (cmd/argoexec/commands/agent.go
// in argo-workflows), on Argo's own agent code (executor.AgentExecutor).
//
// The one difference is where it finds its files. A process pod has no
// mount namespace, so /var/run/argo and the service account folder are
// looked up in the kubelet's mount table (kubelet.MountsEnv).
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	executorplugins "github.com/argoproj/argo-workflows/v3/pkg/plugins/executor"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	"github.com/argoproj/argo-workflows/v3/workflow/executor"
	"github.com/argoproj/argo-workflows/v3/workflow/executor/plugins/rpc"
	log "github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/controller"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/kubelet"
)

// Main runs `agent init|main [argoexec's log flags]`.
func Main(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: fieldflow-local agent init|main")
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	level := fs.String("loglevel", "info", "log level")
	fs.String("log-format", "text", "log format (text only)")
	fs.Int("gloglevel", 0, "glog level (unused)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if l, err := log.ParseLevel(*level); err == nil {
		log.SetLevel(l)
	}
	mounts, err := kubelet.Mounts()
	if err != nil {
		return err
	}
	varRunArgo, ok := mounts[common.VarRunArgoPath]
	if !ok {
		return fmt.Errorf("no volume on %s", common.VarRunArgoPath)
	}
	switch args[0] {
	case "init":
		return writeTokens(varRunArgo)
	case "main":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return run(ctx, varRunArgo, mounts[common.ServiceAccountTokenMountPath])
	}
	return fmt.Errorf("agent: unknown command %q", args[0])
}

// writeTokens gives each plugin a random bearer token in
// /var/run/argo/NAME/token, which its sidecar reads as /var/run/argo/token
// (its subPath): what `argoexec agent init` does. Unlike Argo's, it can
// run again (an init container killed and restarted): a token already
// written is kept.
func writeTokens(varRunArgo string) error {
	names, err := jsonList(common.EnvVarPluginNames)
	if err != nil {
		return err
	}
	for _, name := range names {
		dir := filepath.Join(varRunArgo, name)
		if err := os.MkdirAll(dir, 0o770); err != nil {
			return fmt.Errorf("plugin %s token: %w", name, err)
		}
		token := filepath.Join(dir, "token")
		if _, err := os.Stat(token); err == nil {
			continue
		}
		// Whole or not at all: a half-written token would fail its
		// sidecar for good.
		tmp := token + ".new"
		_ = os.Remove(tmp) // an earlier run's, read-only
		if err := os.WriteFile(tmp, []byte(rand.String(32)), 0o440); err != nil {
			return fmt.Errorf("plugin %s token: %w", name, err)
		}
		if err := os.Rename(tmp, token); err != nil {
			return fmt.Errorf("plugin %s token: %w", name, err)
		}
	}
	return nil
}

// run is `argoexec agent main`: Argo's agent for the workflow the pod's
// environment names, acting with the pod's service account token.
func run(ctx context.Context, varRunArgo, saDir string) error {
	if saDir == "" {
		return fmt.Errorf("no service account token on %s", common.ServiceAccountTokenMountPath)
	}
	cfg := &rest.Config{
		Host:            "https://" + net.JoinHostPort(os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")),
		BearerTokenFile: filepath.Join(saDir, "token"),
		TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(saDir, "ca.crt")},
	}
	cfg = rest.AddUserAgent(cfg, "argo-workflows/"+controller.ArgoVersion()+" argo-executor/agent Executor")
	ns, err := os.ReadFile(filepath.Join(saDir, "namespace"))
	if err != nil {
		return fmt.Errorf("namespace: %w", err)
	}
	clients, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	plugins, err := pluginClients(varRunArgo)
	if err != nil {
		return err
	}
	a := executor.NewAgentExecutor(clients, clients.RESTClient(), cfg, strings.TrimSpace(string(ns)),
		os.Getenv(common.EnvVarWorkflowName), os.Getenv(common.EnvVarWorkflowUID), plugins)
	return a.Agent(ctx)
}

// pluginClients are Argo's RPC clients of the plugins the pod's
// environment lists, with the tokens init wrote.
func pluginClients(varRunArgo string) ([]executorplugins.TemplateExecutor, error) {
	names, err := jsonList(common.EnvVarPluginNames)
	if err != nil {
		return nil, err
	}
	addrs, err := jsonList(common.EnvVarPluginAddresses)
	if err != nil {
		return nil, err
	}
	if len(addrs) != len(names) {
		return nil, fmt.Errorf("%d plugin addresses for %d plugins", len(addrs), len(names))
	}
	var out []executorplugins.TemplateExecutor
	for i, name := range names {
		token, err := os.ReadFile(filepath.Join(varRunArgo, name, "token"))
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", name, err)
		}
		out = append(out, rpc.New(addrs[i], string(token)))
	}
	return out, nil
}

func jsonList(env string) ([]string, error) {
	var out []string
	if v := os.Getenv(env); v != "" && v != "null" {
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			return nil, fmt.Errorf("%s: %w", env, err)
		}
	}
	return out, nil
}
