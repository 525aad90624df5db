package generator

import (
	"encoding/json"
	"fmt"
	"regexp"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// Names of the Argo Events objects. The Sensors' dependencies name the
// EventSources and their events exactly; a test checks they match.
const (
	eventBusName       = "default"
	minioSourceName    = "minio"
	sqsSourceName      = "sqs"
	sqsEventName       = "inputs"
	objectCreatedMinIO = "s3:ObjectCreated:*"
)

// Where each source puts the object key and event name in its event data.
// MinIO's listen API, which the minio EventSource uses, sends keys as they
// are: unlike MinIO's notification targets it does not query-escape them,
// and a decode there would turn a "+" in a key into a space
// (TestMinIONotificationsTrigger pins this on a real server). S3
// notifications through SQS URL-encode them (a space arrives as "+"), so
// the SQS sensor alone decodes the key (sqsDecode) before filtering and
// triggering.
type source struct {
	name       string
	keyPath    string
	eventPath  string
	eventRegex string
	transform  *ev.EventDependencyTransformer
	eventName  func(a *pipeline.Asset) string
}

var sources = []source{
	{
		name:       minioSourceName,
		keyPath:    "notification.0.s3.object.key",
		eventPath:  "notification.0.eventName",
		eventRegex: "^s3:ObjectCreated:",
		eventName:  func(a *pipeline.Asset) string { return a.Name },
	},
	{
		name:       sqsSourceName,
		keyPath:    "body.Records.0.s3.object.key",
		eventPath:  "body.Records.0.eventName",
		eventRegex: "^ObjectCreated:",
		transform:  &ev.EventDependencyTransformer{Script: sqsDecode},
		eventName:  func(*pipeline.Asset) string { return sqsEventName },
	},
}

// sqsDecode is a Lua transform, run by Argo Events, that decodes the
// form-URL-encoded keys of an S3 notification: "+" is a space and %XX a
// byte. A test event (s3:TestEvent) has no Records and passes unchanged, to
// be dropped by the filters.
const sqsDecode = `local function decode(s)
  s = string.gsub(s, "%+", " ")
  return (string.gsub(s, "%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end
if event.body ~= nil and event.body.Records ~= nil then
  for _, r in ipairs(event.body.Records) do
    if r.s3 ~= nil and r.s3.object ~= nil and r.s3.object.key ~= nil then
      r.s3.object.key = decode(r.s3.object.key)
    end
  end
end
return event`

func eventBus(c Config) *ev.EventBus {
	return &ev.EventBus{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "EventBus"},
		ObjectMeta: metav1.ObjectMeta{Name: eventBusName, Namespace: c.Namespace, Labels: labels()},
		Spec:       ev.EventBusSpec{JetStream: &ev.JetStreamBus{Version: c.JetStreamVersion}},
	}
}

// minioEventSource listens to MinIO with one event per asset, each
// filtered by the asset's input folder.
func minioEventSource(c Config, p *pipeline.Pipeline) *ev.EventSource {
	es := &ev.EventSource{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "EventSource"},
		ObjectMeta: metav1.ObjectMeta{Name: minioSourceName, Namespace: c.Namespace, Labels: labels()},
		Spec:       ev.EventSourceSpec{EventBusName: eventBusName, Minio: map[string]ev.S3Artifact{}},
	}
	for _, a := range p.Assets {
		es.Spec.Minio[a.Name] = ev.S3Artifact{
			Endpoint:  c.MinIO.Endpoint,
			Insecure:  c.MinIO.Insecure,
			Bucket:    &ev.S3Bucket{Name: c.Bucket},
			Events:    []string{objectCreatedMinIO},
			Filter:    &ev.S3Filter{Prefix: a.InputPrefix + "/"},
			AccessKey: secretKey(c.MinIO.CredentialsSecret, "accesskey"),
			SecretKey: secretKey(c.MinIO.CredentialsSecret, "secretkey"),
		}
	}
	return es
}

// sqsEventSource reads the queue the bucket notifies on AWS. Credentials
// come from the pod's service account (IRSA, the role the AWS overlay
// annotates it with): no keys in the object.
func sqsEventSource(c Config) *ev.EventSource {
	return &ev.EventSource{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "EventSource"},
		ObjectMeta: metav1.ObjectMeta{Name: sqsSourceName, Namespace: c.Namespace, Labels: labels()},
		Spec: ev.EventSourceSpec{
			EventBusName: eventBusName,
			Template:     &ev.Template{ServiceAccountName: EventsServiceAccount},
			SQS: map[string]ev.SQSEventSource{
				sqsEventName: {Region: c.SQS.Region, Queue: c.SQS.Queue, WaitTimeSeconds: 20, JSONBody: true},
			}},
	}
}

func secretKey(name, key string) *corev1.SecretKeySelector {
	return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}
}

// sensor turns one source's notifications into Workflows: one dependency
// and one trigger per asset. A notification passes a dependency only when
// it is an object creation and its key matches the asset's full key
// pattern; anything else triggers nothing.
func sensor(c Config, p *pipeline.Pipeline, src source) (*ev.Sensor, error) {
	s := &ev.Sensor{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Sensor"},
		ObjectMeta: metav1.ObjectMeta{Name: src.name, Namespace: c.Namespace, Labels: labels()},
		Spec: ev.SensorSpec{
			EventBusName: eventBusName,
			Template:     &ev.Template{ServiceAccountName: sensorServiceAccount},
			// Empty, not nil: the field has no omitempty and nil
			// marshals as null (see checkNulls).
			LoggingFields: map[string]string{},
		},
	}
	for _, a := range p.Assets {
		s.Spec.Dependencies = append(s.Spec.Dependencies, ev.EventDependency{
			Name:            a.Name,
			EventSourceName: src.name,
			EventName:       src.eventName(a),
			Transform:       src.transform,
			Filters: &ev.EventDependencyFilter{Data: []ev.DataFilter{
				{Path: src.eventPath, Type: ev.JSONTypeString, Value: []string{src.eventRegex}},
				{Path: src.keyPath, Type: ev.JSONTypeString, Value: []string{KeyRegex(a)}},
			}},
		})
		wf, err := json.Marshal(newWorkflow(c, a, ""))
		if err != nil {
			return nil, err
		}
		s.Spec.Triggers = append(s.Spec.Triggers, ev.Trigger{
			Template: &ev.TriggerTemplate{
				Name:       a.TemplateName(),
				Conditions: a.Name,
				K8s: &ev.StandardK8STrigger{
					Operation: ev.Create,
					Source:    &ev.ArtifactLocation{Resource: &ev.K8SResource{Value: wf}},
					Parameters: []ev.TriggerParameter{{
						Src:  &ev.TriggerParameterSource{DependencyName: a.Name, DataKey: src.keyPath},
						Dest: "spec.arguments.parameters.0.value",
					}},
				},
			},
			RetryStrategy: &ev.Backoff{
				Steps:    5,
				Duration: &ev.Int64OrString{Type: ev.String, StrVal: "1s"},
				Factor:   ptr(ev.NewAmount("2")),
				Jitter:   ptr(ev.NewAmount("0.2")),
			},
			AtLeastOnce: true,
		})
	}
	return s, nil
}

// KeyRegex matches the whole object key of an asset's inputs: its folder
// and its pattern.
func KeyRegex(a *pipeline.Asset) string {
	return fmt.Sprintf("^%s/(?:%s)$", regexp.QuoteMeta(a.InputPrefix), a.Pattern)
}
