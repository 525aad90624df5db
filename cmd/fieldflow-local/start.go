package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/cluster"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/engine"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/events"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/kubelet"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/metrics"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/pki"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/ui"
	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/store"
)

// running is the whole engine, as up and run start it.
type running struct {
	cluster *cluster.Cluster
	engine  *engine.Engine
	kubelet *kubelet.Kubelet
	stop    context.CancelFunc // stops the kubelet; Cluster.Stop the rest
	ready   time.Duration      // from start to the kubeconfig written
}

// start brings the engine up: etcd, the API server and Argo's controller,
// the manifests applied, and the process kubelet serving its API and
// running pods. It writes the kubeconfig last, so that its existence means
// all of it is up. The caller calls shutdown.
func start(ctx context.Context, o engineOptions) (*running, error) {
	t0 := time.Now()
	m, err := engine.LoadManifests(o.engine.Manifests)
	if err != nil {
		return nil, err
	}
	// The metrics address and the store first: a taken address, a missing
	// bucket or a wrong key is said at once, not after the API server and
	// the controller came up.
	ml, err := metrics.Listen(o.metricsAddr)
	if err != nil {
		return nil, err
	}
	st, err := processor.OpenStore(ctx, o.engine.Store)
	if err != nil {
		ml.Close()
		return nil, err
	}
	c, err := cluster.StartWithOptions(ctx, cluster.Options{
		StateDir: o.state, Namespace: m.Namespace, CRDDir: o.crds, ExecutorImage: o.executorImage,
		ComponentLogLevel: o.componentLevel, PodGCDelay: o.podGCDelay,
	})
	if err != nil {
		ml.Close()
		return nil, err
	}
	r := &running{cluster: c, stop: func() {}}
	if err := r.startEngine(ctx, m, st, ml, o); err != nil {
		r.shutdown()
		return nil, err
	}
	if err := c.WriteKubeconfig(); err != nil {
		r.shutdown()
		return nil, err
	}
	r.ready = time.Since(t0)
	return r, nil
}

// startEngine serves metrics, applies the manifests and starts the kubelet.
func (r *running) startEngine(ctx context.Context, m *engine.Manifests, st store.Store, ml net.Listener, o engineOptions) error {
	c := r.cluster
	metrics.Serve(ctx, ml, o.pprof, events.Gatherer(c.StateDir))
	o.engine.StateDir, o.engine.Kubeconfig = c.StateDir, c.Kubeconfig
	e, err := engine.New(ctx, c.Config, m, st, o.engine, slog.Default())
	if err != nil {
		return err
	}
	k, err := e.Kubelet(c.Config)
	if err != nil {
		return err
	}
	kctx, stop := context.WithCancel(ctx)
	r.engine, r.kubelet, r.stop = e, k, stop
	files := c.Kubelet.Files
	addr, err := k.Serve(kctx, kubelet.Serving{
		Addr: c.Kubelet.Addr, CertFile: files.ServingCert, KeyFile: files.ServingKey,
		ClientCAFile: files.CAFile, ClientName: pki.APIServerClientName,
	})
	if err != nil {
		return fmt.Errorf("kubelet API: %w", err)
	}
	slog.Info("kubelet serving its API for pod logs", "addr", addr, "node", k.Node)
	go func() {
		if err := k.Run(kctx); err != nil && !errors.Is(err, context.Canceled) {
			slog.Error("kubelet", "err", err)
		}
	}()
	return nil
}

// shutdown stops the kubelet, then the controller, API server and etcd.
func (r *running) shutdown() {
	r.stop()
	r.cluster.Stop()
}

// serveUI starts Argo's server and UI against the engine, when the argo
// binary is beside this one, and says how to log in. Without it the
// engine runs on: the UI is for looking, the pipeline does not need it.
func (r *running) serveUI(ctx context.Context) {
	c := r.cluster
	argo, err := besideSelf("argo")
	if err != nil {
		slog.Warn("no Argo UI", "err", err)
		return
	}
	kube, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		slog.Warn("no Argo UI", "err", err)
		return
	}
	s, err := ui.Start(ctx, kube, ui.Options{Argo: argo, Kubeconfig: c.Kubeconfig, Namespace: c.Namespace, StateDir: c.StateDir, Log: slog.Default()})
	if errors.Is(err, ui.ErrNoArgo) {
		slog.Info("no Argo UI: `make local` builds Argo's CLI with its UI beside fieldflow-local")
		return
	}
	if err != nil {
		slog.Warn("no Argo UI", "err", err)
		return
	}
	slog.Info("Argo UI", "url", s.URL+"/workflows/"+c.Namespace, "login", "paste the whole line of "+s.TokenFile+" into the login form's token box",
		"cli", "ARGO_SERVER="+strings.TrimPrefix(s.URL, "http://")+" ARGO_HTTP1=true ARGO_SECURE=false ARGO_NAMESPACE="+c.Namespace+` ARGO_TOKEN="$(cat `+s.TokenFile+`)" argo list`)
}

// besideSelf is the path of name (a file, or a relative path) in this
// binary's folder, where make builds what the engine runs beside it.
func besideSelf(name string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(self), name), nil
}
