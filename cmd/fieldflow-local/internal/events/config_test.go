package events

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	esvalidate "github.com/argoproj/argo-events/pkg/reconciler/eventsource"
	"sigs.k8s.io/yaml"

	argoevents "github.com/fieldflow/fieldflow/argo-events"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// generated returns the checked-in minio EventSource and Sensor.
func generated(t *testing.T) (*ev.EventSource, *ev.Sensor) {
	t.Helper()
	var src ev.EventSource
	var s ev.Sensor
	for file, into := range map[string]any{"eventsource-minio.yaml": &src, "sensor-minio.yaml": &s} {
		b, err := argoevents.FS.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(b, into); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	return &src, &s
}

var userMinIO = MinIO{Endpoint: "127.0.0.1:9400", Bucket: "my-bucket", AccessKey: "me", SecretKey: "s3cret"}

// TestLocalEventSource: only the endpoint, TLS and bucket differ from
// what a cluster gets, and Argo Events still accepts the object.
func TestLocalEventSource(t *testing.T) {
	gen, _ := generated(t)
	local := localEventSource(gen, userMinIO)
	if err := esvalidate.ValidateEventSource(local); err != nil {
		t.Fatalf("Argo Events rejects the local EventSource: %v", err)
	}
	if len(local.Spec.Minio) == 0 || len(local.Spec.Minio) != len(gen.Spec.Minio) {
		t.Fatalf("%d minio events, generated %d", len(local.Spec.Minio), len(gen.Spec.Minio))
	}
	for name, a := range local.Spec.Minio {
		if a.Endpoint != userMinIO.Endpoint || !a.Insecure || a.Bucket.Name != userMinIO.Bucket {
			t.Errorf("%s: endpoint %s insecure %v bucket %s", name, a.Endpoint, a.Insecure, a.Bucket.Name)
		}
		g := gen.Spec.Minio[name]
		a.Endpoint, a.Insecure, a.Bucket = g.Endpoint, g.Insecure, g.Bucket
		if !reflect.DeepEqual(a, g) {
			t.Errorf("%s differs from the generated event beyond endpoint, TLS and bucket:\n%+v\n%+v", name, a, g)
		}
	}
	if gen.Spec.Minio["box"].Endpoint == userMinIO.Endpoint {
		t.Error("the generated EventSource was changed in place")
	}
}

// TestBusConfig: TLS files named as a jetstreamExotic EventBus names its
// secrets, and stream settings Argo Events' reader takes.
func TestBusConfig(t *testing.T) {
	c := busConfigFor("127.0.0.1:4222")
	if c.JetStream == nil || c.NATS != nil || c.Kafka != nil {
		t.Fatalf("not a JetStream bus: %+v", c)
	}
	js := c.JetStream
	if js.URL != "nats://127.0.0.1:4222" || js.AccessSecret != nil {
		t.Errorf("url %s, access secret %v", js.URL, js.AccessSecret)
	}
	for key, sel := range map[string]string{"ca.crt": js.TLS.CACertSecret.Key, "tls.crt": js.TLS.ClientCertSecret.Key, "tls.key": js.TLS.ClientKeySecret.Key} {
		if sel != key {
			t.Errorf("TLS selector %s, want %s", sel, key)
		}
	}
	var got streamSettings
	if err := yaml.UnmarshalStrict([]byte(js.StreamConfig), &got); err != nil {
		t.Fatal(err)
	}
	if got != defaultStream || got.Replicas != 1 {
		t.Errorf("stream settings %+v", got)
	}
}

// TestPrepare: three processes, the bus first on a port kept across
// starts, each child's objects as Argo Events' commands decode them, and
// its secrets private and complete.
func TestPrepare(t *testing.T) {
	src, s := generated(t)
	state := t.TempDir()
	o := Options{StateDir: state, Kubeconfig: names.Kubeconfig(state), EventSource: src, Sensor: s, MinIO: userMinIO}
	first, bus, err := prepare(o)
	if err != nil {
		t.Fatal(err)
	}
	again, busAgain, err := prepare(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 3 || len(again) != 3 || first[0].kind != KindBus || bus.addr != busAgain.addr {
		t.Fatalf("children %v; bus at %s then %s", kinds(first), bus.addr, busAgain.addr)
	}
	var es ev.EventSource
	decodeChildEnv(t, first[1].env, ev.EnvVarEventSourceObject, &es)
	if es.Spec.Minio["box"].Bucket.Name != userMinIO.Bucket {
		t.Errorf("eventsource child gets bucket %s", es.Spec.Minio["box"].Bucket.Name)
	}
	var busConfig ev.BusConfig
	decodeChildEnv(t, first[2].env, ev.EnvVarEventBusConfig, &busConfig)
	if busConfig.JetStream == nil || !strings.HasSuffix(busConfig.JetStream.URL, bus.addr) {
		t.Errorf("sensor child's bus %+v, bus at %s", busConfig.JetStream, bus.addr)
	}
	a := es.Spec.Minio["box"]
	for path, want := range map[string]string{
		filepath.Join(SecretsRoot(first[1].Dir), "secrets", a.AccessKey.Name, a.AccessKey.Key): "me",
		filepath.Join(SecretsRoot(first[1].Dir), "secrets", a.SecretKey.Name, a.SecretKey.Key): "s3cret",
		filepath.Join(SecretsRoot(first[2].Dir), "secrets", busTLSSecret, "tls.key"):           "PRIVATE KEY",
	} {
		b, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %q, %v; want %q", path, b, err, want)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", path, fi.Mode())
		}
	}
	if _, err := os.Stat(filepath.Join(SecretsRoot(first[2].Dir), "secrets", a.SecretKey.Name)); !os.IsNotExist(err) {
		t.Errorf("the sensor was given MinIO's keys: %v", err)
	}
}

func kinds(cs []*child) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.kind)
	}
	return out
}

// decodeChildEnv reads name from env as Argo Events' commands do.
func decodeChildEnv(t *testing.T, env []string, name string, into any) {
	t.Helper()
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, into); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no %s in %v", name, env)
}
