// Package apiserver runs kube-apiserver (k8s.io/kubernetes/cmd/kube-apiserver/app)
// in this process: bound to 127.0.0.1, token authentication, RBAC, and its
// credentials and serving certificate in a folder.
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/component-base/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/cmd/kube-apiserver/app/options"
)

// Options say where the API server keeps its files, listens and stores.
type Options struct {
	Dir     string // state folder of the API server
	Port    int    // secure port on 127.0.0.1
	EtcdURL string // client URL of etcd
	// EtcdCA verifies etcd's certificate; EtcdCert and EtcdKey are the
	// client certificate etcd asks for.
	EtcdCA, EtcdCert, EtcdKey string
	Kubelet                   KubeletClient
}

// KubeletClient is how the API server calls kubelets (pod logs): with a
// client certificate the kubelet trusts, verifying the kubelet's serving
// certificate with CAFile, at the node's InternalIP. Empty files leave
// the API server's defaults.
type KubeletClient struct {
	CertFile string
	KeyFile  string
	CAFile   string
}

// Server is a running API server.
type Server struct {
	Files  *Files
	URL    string
	cancel context.CancelFunc
	done   chan struct{} // closed when the server has exited
	err    error         // why it exited, set before done is closed
}

// Start starts the API server and returns once /readyz answers ok.
func Start(ctx context.Context, o Options) (*Server, error) {
	files, err := prepareFiles(o.Dir)
	if err != nil {
		return nil, err
	}
	setVersionFallback()
	completed, err := complete(ctx, args(o, files))
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{Files: files, URL: fmt.Sprintf("https://127.0.0.1:%d", o.Port), cancel: cancel, done: make(chan struct{})}
	go func() {
		s.err = app.Run(runCtx, completed)
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.Stop(10 * time.Second)
		return nil, err
	}
	return s, nil
}

func args(o Options, f *Files) []string {
	argv := []string{
		"--etcd-servers=" + o.EtcdURL,
		"--etcd-cafile=" + o.EtcdCA,
		"--etcd-certfile=" + o.EtcdCert,
		"--etcd-keyfile=" + o.EtcdKey,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", o.Port),
		"--cert-dir=" + f.CertDir,
		"--token-auth-file=" + f.TokenFile,
		"--anonymous-auth=false",
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + f.SAKeyFile,
		"--service-account-signing-key-file=" + f.SAKeyFile,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--enable-priority-and-fairness=false",
		"--endpoint-reconciler-type=none", // a loopback address is no valid Endpoints IP
		"--profiling=false",
	}
	if k := o.Kubelet; k.CertFile != "" {
		argv = append(argv,
			"--kubelet-client-certificate="+k.CertFile,
			"--kubelet-client-key="+k.KeyFile,
			"--kubelet-certificate-authority="+k.CAFile,
			"--kubelet-preferred-address-types=InternalIP",
		)
	}
	return argv
}

// complete parses the flags and completes and validates the options, as the
// kube-apiserver command does before it runs.
func complete(ctx context.Context, argv []string) (options.CompletedOptions, error) {
	s := options.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, set := range s.Flags().FlagSets {
		fs.AddFlagSet(set)
	}
	if err := fs.Parse(argv); err != nil {
		return options.CompletedOptions{}, fmt.Errorf("apiserver flags: %w", err)
	}
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return options.CompletedOptions{}, fmt.Errorf("apiserver component versions: %w", err)
	}
	completed, err := s.Complete(ctx)
	if err != nil {
		return options.CompletedOptions{}, fmt.Errorf("complete apiserver options: %w", err)
	}
	if errs := completed.Validate(); len(errs) > 0 {
		return options.CompletedOptions{}, fmt.Errorf("apiserver options: %w", errors.Join(errs...))
	}
	return completed, nil
}

// setVersionFallback gives the server a parseable version when the binary was
// built without -X k8s.io/component-base/version.gitVersion=v1.33.1.
func setVersionFallback() {
	v := version.Get().GitVersion
	if !strings.Contains(v, "$Format") {
		return
	}
	if err := version.SetDynamicVersion("v0.0.0-fieldflow"); err != nil {
		slog.Warn("cannot set a fallback apiserver version", "err", err)
		return
	}
	slog.Warn("binary built without the Kubernetes version ldflag; apiserver reports v0.0.0-fieldflow")
}

// RESTConfig returns a client configuration of the admin user.
func (s *Server) RESTConfig() (*rest.Config, error) {
	ca, err := s.Files.CACert()
	if err != nil {
		return nil, err
	}
	return &rest.Config{
		Host:            s.URL,
		BearerToken:     s.Files.AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		QPS:             50,
		Burst:           100,
	}, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.After(2 * time.Minute)
	for {
		if err := s.ready(ctx); err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("apiserver exited before ready: %w", s.err)
		case <-deadline:
			return fmt.Errorf("apiserver not ready after 2 minutes")
		case <-ctx.Done():
			return fmt.Errorf("apiserver start: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) ready(ctx context.Context) error {
	cfg, err := s.RESTConfig()
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("apiserver client: %w", err)
	}
	_, err = client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	return err
}

// Done is closed when the API server has exited; Err then says why.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is why the API server exited, valid once Done is closed.
func (s *Server) Err() error { return s.err }

// Stop shuts the API server down and waits up to timeout for it to finish.
func (s *Server) Stop(timeout time.Duration) {
	s.cancel()
	select {
	case <-s.done:
		if s.err != nil {
			slog.Warn("apiserver stopped with an error", "err", s.err)
		}
		slog.Info("apiserver stopped")
	case <-time.After(timeout):
		slog.Warn("apiserver did not stop in time", "timeout", timeout)
	}
}
