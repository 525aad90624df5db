package events

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/pki"
)

// Process kinds, the first argument of fieldflow-events.
const (
	KindBus         = "eventbus"
	KindEventSource = "eventsource"
	KindSensor      = "sensor"
)

// Environment of the bus process: where it listens and its TLS files.
const (
	EnvBusAddr = "FIELDFLOW_EVENTBUS_ADDR"
	EnvBusCert = "FIELDFLOW_EVENTBUS_CERT"
	EnvBusKey  = "FIELDFLOW_EVENTBUS_KEY"
	EnvBusCA   = "FIELDFLOW_EVENTBUS_CA"
)

// busTLSSecret is the Secret a jetstreamExotic EventBus would name for its
// TLS files; here its keys are files under the child's secrets folder.
const busTLSSecret = "fieldflow-local-eventbus-tls"

// streamSettings are the stream's properties, as Argo Events' controller
// configuration gives them (its release defaults), with one replica: the
// bus is one server.
type streamSettings struct {
	MaxMsgs    int64  `json:"maxMsgs"`
	MaxAge     string `json:"maxAge"`
	MaxBytes   int64  `json:"maxBytes"`
	Replicas   int    `json:"replicas"`
	Duplicates string `json:"duplicates"`
	Retention  int    `json:"retention"` // 0: limits
	Discard    int    `json:"discard"`   // 0: old
}

var defaultStream = streamSettings{MaxMsgs: 50000, MaxAge: "168h", MaxBytes: -1, Replicas: 1, Duplicates: "300s"}

// prepare writes what the children read (certificates, secrets) and
// returns them, the bus first, with how the engine itself reaches the bus.
func prepare(o Options) ([]*child, *busClient, error) {
	ca, err := pki.LoadOrCreate(filepath.Join(o.StateDir, "pki"), "fieldflow-local")
	if err != nil {
		return nil, nil, err
	}
	loop := []net.IP{net.IPv4(127, 0, 0, 1)}
	serving, err := ca.Server("eventbus", loop)
	if err != nil {
		return nil, nil, fmt.Errorf("event bus certificate: %w", err)
	}
	client, err := ca.Client("eventbus-client", "argo-events")
	if err != nil {
		return nil, nil, fmt.Errorf("event bus client certificate: %w", err)
	}
	bus := newChild(KindBus, o.StateDir, "eventbus", false)
	port, err := busPort(bus.Dir)
	if err != nil {
		return nil, nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	bc, err := newBusClient(addr, ca, client)
	if err != nil {
		return nil, nil, err
	}
	bus.env = []string{
		EnvBusAddr + "=" + addr,
		EnvBusCert + "=" + serving.CertFile, EnvBusKey + "=" + serving.KeyFile, EnvBusCA + "=" + ca.CertFile,
	}
	busConfig, err := encode(busConfigFor(addr))
	if err != nil {
		return nil, nil, err
	}
	tlsFiles := map[string]string{"ca.crt": ca.CertFile, "tls.crt": client.CertFile, "tls.key": client.KeyFile}
	common := []string{
		ev.EnvVarEventBusConfig + "=" + busConfig,
		ev.EnvVarEventBusSubject + "=eventbus-" + o.EventSource.Namespace,
	}

	src := localEventSource(o.EventSource, o.MinIO)
	es := newChild(KindEventSource, o.StateDir, "eventsource-"+src.Name, true)
	esObj, err := encode(src)
	if err != nil {
		return nil, nil, err
	}
	es.env = append([]string{ev.EnvVarEventSourceObject + "=" + esObj, ev.EnvVarPodName + "=" + src.Name + "-eventsource-local"}, common...)
	if err := writeSecrets(es.Dir, copies(tlsFiles), minioSecrets(src, o.MinIO)); err != nil {
		return nil, nil, err
	}

	sn := newChild(KindSensor, o.StateDir, "sensor-"+o.Sensor.Name, true)
	snObj, err := encode(o.Sensor)
	if err != nil {
		return nil, nil, err
	}
	sn.env = append([]string{
		ev.EnvVarSensorObject + "=" + snObj, ev.EnvVarPodName + "=" + o.Sensor.Name + "-sensor-local",
		ev.EnvVarKubeConfig + "=" + o.Kubeconfig,
	}, common...)
	if err := writeSecrets(sn.Dir, copies(tlsFiles), nil); err != nil {
		return nil, nil, err
	}
	return []*child{bus, es, sn}, bc, nil
}

// busConfigFor is what Argo Events' controller gives the pods for a
// jetstreamExotic EventBus at url with TLS: the secrets are files the
// child finds under /argo-events/secrets.
func busConfigFor(addr string) *ev.BusConfig {
	sel := func(key string) *corev1.SecretKeySelector {
		return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: busTLSSecret}, Key: key}
	}
	stream, _ := yaml.Marshal(defaultStream) // a plain struct: cannot fail
	return &ev.BusConfig{JetStream: &ev.JetStreamConfig{
		URL:          "nats://" + addr,
		StreamConfig: string(stream),
		TLS:          &ev.TLSConfig{CACertSecret: sel("ca.crt"), ClientCertSecret: sel("tls.crt"), ClientKeySecret: sel("tls.key")},
	}}
}

// localEventSource is the generated EventSource pointed at the user's
// MinIO and bucket.
func localEventSource(gen *ev.EventSource, m MinIO) *ev.EventSource {
	src := gen.DeepCopy()
	for name, a := range src.Spec.Minio {
		a.Endpoint, a.Insecure = m.Endpoint, !m.Secure
		if a.Bucket != nil {
			a.Bucket.Name = m.Bucket
		}
		src.Spec.Minio[name] = a
	}
	return src
}

// minioSecrets are the files the EventSource's key selectors name, with
// the user's credentials.
func minioSecrets(src *ev.EventSource, m MinIO) map[secretFile][]byte {
	out := map[secretFile][]byte{}
	for _, a := range src.Spec.Minio {
		if a.AccessKey != nil {
			out[secretFile{a.AccessKey.Name, a.AccessKey.Key}] = []byte(m.AccessKey)
		}
		if a.SecretKey != nil {
			out[secretFile{a.SecretKey.Name, a.SecretKey.Key}] = []byte(m.SecretKey)
		}
	}
	return out
}

// secretFile is one key of a Secret as Argo Events reads it from a volume.
type secretFile struct{ secret, key string }

// copies names the bus TLS files a child reads, by key of busTLSSecret.
func copies(files map[string]string) map[secretFile]string {
	out := map[secretFile]string{}
	for key, path := range files {
		out[secretFile{busTLSSecret, key}] = path
	}
	return out
}

// SecretsRoot is the folder a child sees as /argo-events.
func SecretsRoot(childDir string) string { return filepath.Join(childDir, "argo-events") }

// writeSecrets writes a child's secret files, afresh each start, readable
// by the owner only.
func writeSecrets(childDir string, files map[secretFile]string, values map[secretFile][]byte) error {
	root := SecretsRoot(childDir)
	if values == nil {
		values = map[secretFile][]byte{}
	}
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	for f, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		values[f] = b
	}
	for f, b := range values {
		p := filepath.Join(root, "secrets", f.secret, f.key)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// encode is how Argo Events' controller passes an object to a pod: base64
// of its JSON.
func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// busPort keeps the bus on one port across restarts, as a Service would:
// clients reconnect to where it was.
func busPort(dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	path := filepath.Join(dir, "port")
	if b, err := os.ReadFile(path); err == nil {
		if p, err := strconv.Atoi(string(b)); err == nil {
			return p, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port, os.WriteFile(path, []byte(strconv.Itoa(port)), 0o600)
}
