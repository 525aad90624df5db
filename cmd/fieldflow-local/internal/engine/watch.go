package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	"github.com/argoproj/argo-events/pkg/eventsources/events"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fieldflow/fieldflow/generator/sensor"
)

const minioSource = "minio"

// Watch turns new objects into Workflows through the generated minio
// Sensor, as the minio EventSource and the Sensor would in a cluster. A
// MinIO bucket (AWS_ENDPOINT_URL set) is listened to, reconnecting with
// backoff and reconciling on every connect, since MinIO does not replay
// what it sent while nobody listened. A folder or AWS S3 is polled, after
// a reconcile for what was there before.
func (e *Engine) Watch(ctx context.Context) error {
	if bucket, ok := strings.CutPrefix(e.opt.Store, "s3://"); ok && os.Getenv("AWS_ENDPOINT_URL") != "" {
		return e.listen(ctx, bucket)
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
	data, err := json.Marshal(&events.MinioEventData{Notification: records})
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

func (m *Manifests) minio() (*ev.EventSource, *ev.Sensor, error) {
	var src *ev.EventSource
	var s *ev.Sensor
	for _, x := range m.Sources {
		if x.Name == minioSource {
			src = x
		}
	}
	for _, x := range m.Sensors {
		if x.Name == minioSource {
			s = x
		}
	}
	if src == nil || s == nil {
		return nil, nil, fmt.Errorf("the manifests have no %s EventSource and Sensor", minioSource)
	}
	return src, s, nil
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

// listen follows MinIO's bucket notifications, as the minio EventSource
// does, and reconciles after every (re)connect.
func (e *Engine) listen(ctx context.Context, bucket string) error {
	u, err := url.Parse(os.Getenv("AWS_ENDPOINT_URL"))
	if err != nil {
		return fmt.Errorf("AWS_ENDPOINT_URL: %w", err)
	}
	mc, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
		Secure: u.Scheme == "https",
	})
	if err != nil {
		return fmt.Errorf("minio client: %w", err)
	}
	backoff := time.Second
	for ctx.Err() == nil {
		listenCtx, cancel := context.WithCancel(ctx)
		notes := mc.ListenBucketNotification(listenCtx, bucket, "", "", []string{"s3:ObjectCreated:*"})
		if err := e.Reconcile(ctx); err != nil {
			e.log.Warn("reconcile", "err", err)
		}
		for n := range notes {
			if n.Err != nil {
				e.log.Warn("minio notifications", "err", n.Err)
				break
			}
			backoff = time.Second
			if len(n.Records) > 0 {
				e.notify(ctx, n.Records)
			}
		}
		cancel()
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
	return ctx.Err()
}
