// Package generator renders every Argo Workflows and Argo Events object
// fieldflow needs from the pipeline definition (processor/pipeline) and a
// deployment config. Objects are upstream Go types marshalled with
// sigs.k8s.io/yaml; nothing is templated as text.
package generator

import (
	"fmt"
	"os"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/fieldflow/fieldflow/generator/deploy"
	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// Config is what differs between deployments. The checked-in
// generator/fieldflow.yaml is what `make generate` renders; every field has
// a default here.
type Config struct {
	Namespace       string `json:"namespace"`
	Image           string `json:"image"`
	ImagePullPolicy string `json:"imagePullPolicy"`
	// Bucket holds inputs and outputs.
	Bucket string `json:"bucket"`
	// Settings are the pipeline settings (START_DATE, folders, patterns, as
	// in the processor's environment); unset ones keep their defaults.
	Settings map[string]string `json:"settings,omitempty"`
	// Profiles are the assets' pod resources by asset name; an entry
	// names only what it changes (see Profiles).
	Profiles Profiles    `json:"profiles,omitempty"`
	S3       S3Config    `json:"s3"`
	MinIO    MinIOConfig `json:"minio"`
	SQS      SQSConfig   `json:"sqs"`
	// GPUNodeLabel is the node label a GPU profile's type selects on.
	GPUNodeLabel string `json:"gpuNodeLabel"`
	// JetStreamVersion pins the EventBus; it must be one the Argo Events
	// controller's configmap lists.
	JetStreamVersion string `json:"jetStreamVersion"`
	// ReconcileSchedule is the cron schedule of the reconcile sweep.
	ReconcileSchedule string `json:"reconcileSchedule"`
	// ReconcileLimit is how many Workflows one reconcile run, or one
	// release step, submits at most (default pipeline.PageLimit).
	ReconcileLimit int `json:"reconcileLimit"`
	// Controller is how Argo's workflow controller runs: executor plugins
	// on, and settings for latency (see deploy.Controller). The minikube
	// overlay and the local engine apply it; a cluster's own controller
	// must be given the same environment.
	Controller deploy.Controller `json:"controller"`
}

// S3Config is how pods reach the bucket.
type S3Config struct {
	// Endpoint is AWS_ENDPOINT_URL for MinIO; empty for AWS S3.
	Endpoint string `json:"endpoint,omitempty"`
	Region   string `json:"region"`
	// CredentialsSecret holds AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
	// Empty when pods get credentials from their service account (IRSA).
	CredentialsSecret string `json:"credentialsSecret,omitempty"`
}

// MinIOConfig is the minio EventSource: where MinIO listens and the
// Secret with its keys (accesskey, secretkey).
type MinIOConfig struct {
	Endpoint          string `json:"endpoint"` // host:port
	Insecure          bool   `json:"insecure"`
	CredentialsSecret string `json:"credentialsSecret"`
}

// SQSConfig is the sqs EventSource for AWS: the queue the bucket notifies.
type SQSConfig struct {
	Queue  string `json:"queue"`
	Region string `json:"region"`
}

// DefaultConfig is a deployment on minikube with MinIO in the namespace.
func DefaultConfig() Config {
	return Config{
		Namespace:       "fieldflow",
		Image:           "fieldflow:0.1.0",
		ImagePullPolicy: "IfNotPresent",
		Bucket:          "irrigation",
		Profiles:        pipeline.DefaultProfiles(),
		S3: S3Config{
			Endpoint:          "http://minio.fieldflow.svc:9000",
			Region:            "us-east-1",
			CredentialsSecret: "fieldflow-s3",
		},
		MinIO: MinIOConfig{
			Endpoint:          "minio.fieldflow.svc:9000",
			Insecure:          true,
			CredentialsSecret: "fieldflow-minio",
		},
		SQS:               SQSConfig{Queue: "fieldflow-inputs", Region: "us-east-1"},
		GPUNodeLabel:      "nvidia.com/gpu.product",
		JetStreamVersion:  "2.10.10",
		ReconcileSchedule: "*/5 * * * *",
		ReconcileLimit:    pipeline.PageLimit,
		Controller:        deploy.DefaultController(),
	}
}

// LoadConfig reads a config file over the defaults. Unknown fields are
// errors, so a typo cannot silently keep a default.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Pipeline builds the pipeline definition with the config's settings.
func (c Config) Pipeline() (*pipeline.Pipeline, error) {
	for name := range c.Settings {
		if !known(name) {
			return nil, fmt.Errorf("config: unknown setting %q (known: %v)", name, pipeline.Names())
		}
	}
	p, err := pipeline.Load(func(name string) string { return c.Settings[name] })
	if err != nil {
		return nil, err
	}
	for name, profile := range c.Profiles {
		a := p.Asset(name)
		if a == nil {
			return nil, fmt.Errorf("config: profiles: no asset %q", name)
		}
		if _, err := resources(profile); err != nil {
			return nil, fmt.Errorf("config: profiles: %s: %w", name, err)
		}
		a.Profile = profile
	}
	return p, nil
}

// env is the pipeline settings as container environment, sorted, so that
// every pod judges keys exactly as the sensors filtered them.
func (c Config) env() [][2]string {
	var out [][2]string
	for _, name := range pipeline.Names() {
		v, ok := c.Settings[name]
		if !ok {
			v = pipeline.Default(name)
		}
		out = append(out, [2]string{name, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// pipelineData is what the pipelineConfigMap holds, sorted by name: the
// pipeline settings, the store, the region and, when set, the endpoint.
func (c Config) pipelineData() [][2]string {
	out := append(c.env(),
		[2]string{"FIELDFLOW_STORE", "s3://" + c.Bucket},
		[2]string{"AWS_REGION", c.S3.Region},
	)
	if c.S3.Endpoint != "" {
		out = append(out, [2]string{"AWS_ENDPOINT_URL", c.S3.Endpoint})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func known(name string) bool {
	for _, n := range pipeline.Names() {
		if n == name {
			return true
		}
	}
	return false
}
