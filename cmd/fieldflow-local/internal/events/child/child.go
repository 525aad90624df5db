// Package child is the event path's processes, the fieldflow-events
// binary the engine starts: the bus, and Argo Events' eventsource adaptor
// and sensor service. It is a binary of its own, as the argo-events image
// is: Argo Events' event sources and Argo's controller link two versions
// of the same HDFS protobuf messages, which panic in one process.
package child

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	"github.com/argoproj/argo-events/pkg/eventsources"
	aemetrics "github.com/argoproj/argo-events/pkg/metrics"
	"github.com/argoproj/argo-events/pkg/sensors"
	"github.com/argoproj/argo-events/pkg/shared/logging"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/events"
)

// Main is `fieldflow-events KIND DIR`: one process of the event path,
// configured by the environment Argo Events' controller gives its pods. It
// does what the argo-events image's eventsource and sensor commands do,
// except that metrics go to DIR/metrics.sock, not to every interface's
// port 7777.
func Main(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: fieldflow-events eventbus|eventsource|sensor DIR")
	}
	kind, dir := args[0], args[1]
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch kind {
	case events.KindBus:
		return runBus(ctx, dir)
	case events.KindEventSource:
		return runEventSource(ctx, dir)
	case events.KindSensor:
		return runSensor(ctx, dir)
	}
	return fmt.Errorf("fieldflow-events: unknown kind %q", kind)
}

// setup is what the EventSource and the Sensor start with: their secrets
// on /argo-events, their object and the bus config from the environment.
func setup(dir, objectEnv string, obj any) (*ev.BusConfig, error) {
	if err := events.BindSecrets(events.SecretsRoot(dir)); err != nil {
		return nil, err
	}
	if err := decodeEnv(objectEnv, obj); err != nil {
		return nil, err
	}
	bus := &ev.BusConfig{}
	if err := decodeEnv(ev.EnvVarEventBusConfig, bus); err != nil {
		return nil, err
	}
	return bus, nil
}

func runEventSource(ctx context.Context, dir string) error {
	src := &ev.EventSource{}
	bus, err := setup(dir, ev.EnvVarEventSourceObject, src)
	if err != nil {
		return err
	}
	log := logging.NewArgoEventsLogger().Named("eventsource").With(logging.LabelEventSourceName, src.Name)
	ctx = logging.WithLogger(ctx, log)
	m := aemetrics.NewMetrics(src.Namespace)
	if err := serveMetrics(ctx, dir, m); err != nil {
		return err
	}
	return eventsources.NewEventSourceAdaptor(src, bus, os.Getenv(ev.EnvVarEventBusSubject), os.Getenv(ev.EnvVarPodName), m).Start(ctx)
}

func runSensor(ctx context.Context, dir string) error {
	s := &ev.Sensor{}
	bus, err := setup(dir, ev.EnvVarSensorObject, s)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv(ev.EnvVarKubeConfig))
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	// The Sensor acts as its service account, as its pod would: the
	// generated Role is what lets it create Workflows.
	if sa := s.Spec.Template; sa != nil && sa.ServiceAccountName != "" {
		cfg.Impersonate.UserName = serviceaccount.MakeUsername(s.Namespace, sa.ServiceAccountName)
		cfg.Impersonate.Groups = append(serviceaccount.MakeGroupNames(s.Namespace), user.AllAuthenticated)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	log := logging.NewArgoEventsLogger().Named("sensor").With("sensorName", s.Name)
	ctx = logging.WithLogger(ctx, log)
	m := aemetrics.NewMetrics(s.Namespace)
	if err := serveMetrics(ctx, dir, m); err != nil {
		return err
	}
	return sensors.NewSensorContext(kube, dyn, s, bus, os.Getenv(ev.EnvVarEventBusSubject), os.Getenv(ev.EnvVarPodName), m).Start(ctx)
}

// decodeEnv reads an object the way Argo Events' commands do: base64 JSON
// in an environment variable.
func decodeEnv(name string, into any) error {
	b, err := base64.StdEncoding.DecodeString(os.Getenv(name))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// serveMetrics serves Argo Events' metrics on DIR/metrics.sock, which the
// engine gathers into its own /metrics.
func serveMetrics(ctx context.Context, dir string, m prometheus.Collector) error {
	reg := prometheus.NewRegistry()
	if err := reg.Register(m); err != nil {
		return err
	}
	sock := filepath.Join(dir, events.MetricsSocket)
	os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	go srv.Serve(l)
	go func() { <-ctx.Done(); srv.Close() }()
	return nil
}
