// Package cluster is the local Argo engine: an embedded etcd, kube-apiserver
// and Argo's workflow controller in this process, with their state in a folder.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/apiserver"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/controller"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/etcd"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/logbridge"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/pki"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// Options configure Start. Zero values take defaults.
type Options struct {
	StateDir          string
	Namespace         string        // where the controller runs workflows: the manifests'; required
	CRDDir            string        // default: Argo's minimal CRDs (the release's) in the module cache
	ExecutorImage     string        // default controller.DefaultExecutorImage
	LogHandler        slog.Handler  // default: slog.Default's handler
	ComponentLogLevel slog.Level    // apiserver and controller records below it are dropped
	PodGCDelay        time.Duration // how long podGC keeps a finished pod; 0: Argo's 5 s
}

// Timings are measured from the start of Start.
type Timings struct {
	Etcd       time.Duration // etcd serves
	APIServer  time.Duration // /readyz answers ok
	Installed  time.Duration // CRDs established, namespace objects created
	Controller time.Duration // the controller's caches have synced
}

// Cluster is a running local engine.
type Cluster struct {
	StateDir   string
	Kubeconfig string       // path of the admin kubeconfig in StateDir, written by WriteKubeconfig
	Config     *rest.Config // the admin's client configuration
	Namespace  string
	Timings    Timings
	// Kubelet is what a kubelet needs to be reached by this API server:
	// the loopback address to serve on (a port kept in the state folder)
	// and the certificates the two trust each other with.
	Kubelet Kubelet

	lock *os.File
	etcd *etcd.Server
	api  *apiserver.Server
	ctrl *controller.Controller
}

// Kubelet is where a kubelet serves its API for this cluster, and with
// which certificates.
type Kubelet struct {
	Addr  string
	Files pki.KubeletFiles
}

// StartWithOptions starts etcd, the API server and the workflow controller;
// WriteKubeconfig, once the caller has started the rest, says the engine is
// up. Only one engine can run in a process: the API
// server and controller keep process-wide state (feature gates, metrics).
func StartWithOptions(ctx context.Context, o Options) (*Cluster, error) {
	if o.Namespace == "" {
		return nil, errors.New("cluster: no namespace")
	}
	o = withDefaults(o)
	c, err := open(o)
	if err != nil {
		return nil, err
	}
	if err := c.start(ctx, o, time.Now()); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func withDefaults(o Options) Options {
	if o.LogHandler == nil {
		o.LogHandler = slog.Default().Handler()
	}
	return o
}

func open(o Options) (*Cluster, error) {
	dir, err := filepath.Abs(o.StateDir)
	if err != nil {
		return nil, fmt.Errorf("state folder: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state folder: %w", err)
	}
	// It holds etcd's data, keys and the admin token: this user's only,
	// also when an older version created it wider.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restrict state folder: %w", err)
	}
	lock, err := lockState(dir)
	if err != nil {
		return nil, err
	}
	kubeconfig := names.Kubeconfig(dir)
	if err := os.Remove(kubeconfig); err != nil && !errors.Is(err, os.ErrNotExist) {
		lock.Close()
		return nil, fmt.Errorf("remove the previous kubeconfig: %w", err)
	}
	return &Cluster{StateDir: dir, Kubeconfig: kubeconfig, Namespace: o.Namespace, lock: lock}, nil
}

func (c *Cluster) start(ctx context.Context, o Options, t0 time.Time) error {
	p, err := loadPorts(filepath.Join(c.StateDir, "ports.json"))
	if err != nil {
		return err
	}
	logbridge.Klog(o.LogHandler, o.ComponentLogLevel)
	ca, err := pki.LoadOrCreate(filepath.Join(c.StateDir, "pki"), "fieldflow-local CA")
	if err != nil {
		return err
	}
	etcdOpts := etcd.Options{Dir: filepath.Join(c.StateDir, "etcd"), ClientPort: p.EtcdClient, PeerPort: p.EtcdPeer, CA: ca}
	if c.etcd, err = etcd.Start(ctx, etcdOpts); err != nil {
		return err
	}
	c.Timings.Etcd = time.Since(t0)
	etcdClient, err := etcd.ClientCert(ca)
	if err != nil {
		return err
	}
	files, err := pki.EnsureKubelet(ca.Dir)
	if err != nil {
		return err
	}
	c.Kubelet = Kubelet{Addr: fmt.Sprintf("127.0.0.1:%d", p.Kubelet), Files: files}
	apiOpts := apiserver.Options{
		Dir: filepath.Join(c.StateDir, "apiserver"), Port: p.APIServer, EtcdURL: c.etcd.ClientURL,
		EtcdCA: ca.CertFile, EtcdCert: etcdClient.CertFile, EtcdKey: etcdClient.KeyFile,
		Kubelet: apiserver.KubeletClient{CertFile: files.ClientCert, KeyFile: files.ClientKey, CAFile: files.CAFile},
	}
	if c.api, err = apiserver.Start(ctx, apiOpts); err != nil {
		return err
	}
	c.Timings.APIServer = time.Since(t0)
	slog.Info("apiserver ready", "url", c.api.URL, "after", c.Timings.APIServer.Round(time.Millisecond))
	if c.Config, err = c.api.RESTConfig(); err != nil {
		return err
	}
	return c.startController(ctx, o, t0)
}

// WriteKubeconfig writes the admin kubeconfig to c.Kubeconfig. The caller
// writes it last, once everything it runs on the cluster is up too: users
// and tests take the file's existence for "ready".
func (c *Cluster) WriteKubeconfig() error {
	return writeKubeconfig(c.Kubeconfig, c.Config, c.Namespace)
}

func (c *Cluster) startController(ctx context.Context, o Options, t0 time.Time) error {
	co := controller.Options{
		Namespace:     o.Namespace,
		CRDDir:        o.CRDDir,
		ExecutorImage: o.ExecutorImage,
		LogHandler:    o.LogHandler,
		LogLevel:      o.ComponentLogLevel,
		PodGCDelay:    o.PodGCDelay,
	}
	if err := controller.Install(ctx, c.Config, co); err != nil {
		return err
	}
	c.Timings.Installed = time.Since(t0)
	ctrl, err := controller.Run(ctx, c.Config, co)
	if err != nil {
		return err
	}
	c.ctrl = ctrl
	c.Timings.Controller = time.Since(t0)
	slog.Info("workflow controller ready", "namespace", o.Namespace, "after", c.Timings.Controller.Round(time.Millisecond))
	return nil
}

// Failed delivers the reason when etcd or the API server stops on its own.
func (c *Cluster) Failed() <-chan error {
	failed := make(chan error, 1)
	go func() {
		select {
		case err := <-c.etcd.Err():
			failed <- fmt.Errorf("etcd: %w", err)
		case <-c.api.Done():
			failed <- fmt.Errorf("apiserver exited: %v", c.api.Err())
		}
	}()
	return failed
}

// Stop stops the controller, the API server and etcd, in that order, removes
// the kubeconfig and releases the state folder.
func (c *Cluster) Stop() {
	_ = os.Remove(c.Kubeconfig)
	if c.ctrl != nil {
		c.ctrl.Stop(10 * time.Second)
	}
	if c.api != nil {
		c.api.Stop(30 * time.Second)
	}
	if c.etcd != nil {
		c.etcd.Stop()
	}
	if c.lock != nil {
		_ = c.lock.Close()
	}
}
