package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	aeevents "github.com/argoproj/argo-events/pkg/eventsources/events"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/minio/minio-go/v7/pkg/notification"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/events"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
	"github.com/fieldflow/fieldflow/generator/sensor"
)

// Watch turns new objects into Workflows. On MinIO (AWS_ENDPOINT_URL
// set) that is the cluster's path, Argo Events' own EventSource and Sensor
// on a JetStream bus. A folder or AWS S3 has no such source here: the
// engine's own watcher polls it and applies the generated Sensor with
// Argo Events' filter and parameter code, after a reconcile for what was
// there before.
func (e *Engine) Watch(ctx context.Context) error {
	if bucket, ok := strings.CutPrefix(e.opt.Store, "s3://"); ok && os.Getenv("AWS_ENDPOINT_URL") != "" {
		return e.upstream(ctx, bucket)
	}
	if err := e.Reconcile(ctx); err != nil {
		return err
	}
	return e.poll(ctx)
}

// Triggered returns the Workflows that the generated minio EventSource and
// Sensor create for one notification: one per event whose prefix filter
// the key passes and whose Sensor dependency accepts it.
func (m *Manifests) Triggered(records []notification.Event) ([]*wfv1.Workflow, error) {
	src, s, err := m.minio()
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(&aeevents.MinioEventData{Notification: records})
	if err != nil {
		return nil, fmt.Errorf("notification: %w", err)
	}
	key := records[0].S3.Object.Key
	var out []*wfv1.Workflow
	for name, art := range src.Spec.Minio {
		if art.Filter != nil && !strings.HasPrefix(key, art.Filter.Prefix) {
			continue
		}
		wfs, err := sensor.Workflows(s, name, data)
		if err != nil {
			return nil, fmt.Errorf("sensor %s, event %s, key %s: %w", s.Name, name, key, err)
		}
		for _, wf := range wfs {
			wf.Namespace = m.Namespace
		}
		out = append(out, wfs...)
	}
	return out, nil
}

// minio finds the EventSource that listens to MinIO and the Sensor that
// depends on it, by what they are rather than by name, so the generator
// owns the names.
func (m *Manifests) minio() (*ev.EventSource, *ev.Sensor, error) {
	for _, src := range m.Sources {
		if len(src.Spec.Minio) == 0 {
			continue
		}
		for _, s := range m.Sensors {
			if slices.ContainsFunc(s.Spec.Dependencies, func(d ev.EventDependency) bool { return d.EventSourceName == src.Name }) {
				return src, s, nil
			}
		}
	}
	return nil, nil, errors.New("the manifests have no EventSource on MinIO with a Sensor depending on it")
}

// notify creates the Workflows a notification triggers.
func (e *Engine) notify(ctx context.Context, records []notification.Event) {
	key := records[0].S3.Object.Key
	wfs, err := e.manifests.Triggered(records)
	if err != nil {
		e.log.Warn("sensor", "key", key, "err", err)
		return
	}
	for _, wf := range wfs {
		created, err := e.argo.ArgoprojV1alpha1().Workflows(wf.Namespace).Create(ctx, wf, metav1.CreateOptions{})
		if err != nil {
			e.log.Warn("create workflow", "key", key, "err", err)
			continue
		}
		e.log.Info("triggered", "key", key, "workflow", created.Name)
	}
}

// poll lists the input folders every second and notifies new or changed
// objects.
func (e *Engine) poll(ctx context.Context) error {
	seen := map[string]string{}
	first := true
	for {
		for _, a := range e.proc.Pipeline().Assets {
			for info, err := range e.proc.Store().List(ctx, a.InputPrefix+"/") {
				if err != nil {
					e.log.Warn("poll", "err", err)
					break
				}
				if seen[info.Key] == info.Version {
					continue
				}
				seen[info.Key] = info.Version
				if !first { // what was there at start is the reconcile's
					e.notify(ctx, []notification.Event{Created(info.Key, info.Size, info.Version)})
				}
			}
		}
		first = false
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Created is the notification MinIO's listen API sends when key is
// uploaded. The key stays verbatim, not query-escaped, because that is how
// MinIO sends it to the minio EventSource and the minio Sensor decodes
// nothing.
func Created(key string, size int64, etag string) notification.Event {
	var n notification.Event
	n.EventVersion, n.EventSource, n.EventName = "2.0", "minio:s3", "s3:ObjectCreated:Put"
	n.EventTime = time.Now().UTC().Format(time.RFC3339Nano)
	n.S3.Object.Key, n.S3.Object.Size, n.S3.Object.ETag = key, size, etag
	return n
}

// upstream runs the generated minio EventSource and Sensor with Argo
// Events' own code on the embedded bus (package events), pointed at the
// user's MinIO and bucket. Their Workflows are created by the Sensor, not
// by this process. A reconcile once they are ready catches what was
// uploaded while nobody listened, as the reconcile CronWorkflow would.
func (e *Engine) upstream(ctx context.Context, bucket string) error {
	src, s, err := e.manifests.minio()
	if err != nil {
		return err
	}
	u, err := url.Parse(os.Getenv("AWS_ENDPOINT_URL"))
	if err != nil {
		return fmt.Errorf("AWS_ENDPOINT_URL: %w", err)
	}
	err = events.Start(ctx, events.Options{
		StateDir: e.opt.StateDir, Kubeconfig: e.opt.Kubeconfig,
		EventSource: src, Sensor: s,
		MinIO: events.MinIO{
			Endpoint: u.Host, Secure: u.Scheme == "https", Bucket: bucket,
			AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		},
		Log: e.log,
	})
	if err != nil {
		return err
	}
	e.log.Info("event path ready: Argo Events' minio EventSource and Sensor on the embedded JetStream bus", "bucket", bucket, "logs", names.EventsDir(e.opt.StateDir))
	if err := e.Reconcile(ctx); err != nil {
		e.log.Warn("reconcile", "err", err)
	}
	<-ctx.Done()
	return ctx.Err()
}
