package generator

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	ev "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	"github.com/argoproj/argo-events/pkg/eventsources/events"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"

	sensorrun "github.com/fieldflow/fieldflow/generator/sensor"
	"github.com/fieldflow/fieldflow/processor/store/s3/s3test"
)

func TestMain(m *testing.M) {
	code := m.Run()
	s3test.Stop()
	os.Exit(code)
}

const box = "01976dbcbdb77dc4b9b61ba545503b77"

// trigger runs an event through a Sensor with Argo Events' own code.
func trigger(t *testing.T, o *objects, s *ev.Sensor, eventName string, data []byte) []*wfv1.Workflow {
	t.Helper()
	wfs, err := sensorrun.Workflows(s, eventName, data)
	if err != nil {
		t.Fatal(err)
	}
	return wfs
}

func sensorNamed(t *testing.T, o *objects, name string) *ev.Sensor {
	for _, s := range o.sensors {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no sensor %s", name)
	return nil
}

// checkTriggered asserts that exactly one Workflow was made, from the
// template of asset, carrying key exactly, and that it passes validation.
func checkTriggered(t *testing.T, o *objects, wfs []*wfv1.Workflow, key, template string) {
	t.Helper()
	if template == "" {
		if len(wfs) != 0 {
			t.Errorf("%q triggered %d workflows, want none", key, len(wfs))
		}
		return
	}
	if len(wfs) != 1 {
		t.Fatalf("%q triggered %d workflows, want 1", key, len(wfs))
	}
	wf := wfs[0]
	if wf.Spec.WorkflowTemplateRef == nil || wf.Spec.WorkflowTemplateRef.Name != template || o.templates[template] == nil {
		t.Errorf("%q: workflow references %+v, want existing template %s", key, wf.Spec.WorkflowTemplateRef, template)
	}
	if got := wf.Spec.Arguments.Parameters[0].Value.String(); got != key {
		t.Errorf("workflow carries key %q, want %q", got, key)
	}
	validateWorkflow(t, o, wf)
}

// wireKeys records the object keys of the notifications MinIO sends, as
// they are on the wire, before minio-go decodes anything: the test then
// holds for any client, not only for what minio-go hands back.
type wireKeys struct {
	mu   sync.Mutex
	keys map[string]bool
}

func (w *wireKeys) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.URL.Query().Has("events") {
		pr, pw := io.Pipe()
		go w.scan(resp.Body, pw)
		resp.Body = readCloser{pr, resp.Body}
	}
	return resp, err
}

// scan notes the keys of each line of the stream (one notification a
// line, blank keep-alive lines between) before passing the line on, so a
// key the client has seen is always noted.
func (w *wireKeys) scan(r io.Reader, pw *io.PipeWriter) {
	lines := bufio.NewScanner(r)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		var n struct {
			Records []struct {
				S3 struct{ Object struct{ Key string } }
			}
		}
		if json.Unmarshal(lines.Bytes(), &n) == nil {
			w.mu.Lock()
			for _, rec := range n.Records {
				w.keys[rec.S3.Object.Key] = true
			}
			w.mu.Unlock()
		}
		if _, err := pw.Write(append(lines.Bytes(), '\n')); err != nil {
			return
		}
	}
	pw.CloseWithError(lines.Err())
}

func (w *wireKeys) has(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.keys[key]
}

type readCloser struct {
	io.Reader
	io.Closer
}

// TestMinIONotificationsTrigger uploads files to a real MinIO, captures
// the notifications with minio-go's ListenBucketNotification (what the
// minio EventSource runs), wraps them as the EventSource publishes them and
// runs them through the generated Sensor with Argo Events' own code.
//
// It also pins how MinIO's listen API spells keys: verbatim, not
// query-escaped as its notification targets and S3's SQS messages do
// (MinIO publishes listen events with ToEvent(false)). Keys that look
// escaped ("%20", "%2B") prove it: a decode on this path would change them.
func TestMinIONotificationsTrigger(t *testing.T) {
	o := decodeAll(t)
	srv := s3test.Require(t)
	st := srv.Bucket(t)
	u, _ := url.Parse(srv.Endpoint)
	wire := &wireKeys{keys: map[string]bool{}}
	mc, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""), Transport: wire})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	notes := mc.ListenBucketNotification(ctx, st.Bucket(), "", "", []string{objectCreatedMinIO})
	put := func(key string) {
		if err := st.Put(ctx, key, strings.NewReader("{}\n"), nil); err != nil {
			t.Fatal(err)
		}
	}
	// The listener is ready once a warm-up upload comes back.
	got := map[string]notification.Info{}
	for i := 0; len(got) == 0; i++ {
		put("warmup/" + string(rune('a'+i%26)))
		select {
		case n := <-notes:
			if n.Err != nil {
				t.Fatal(n.Err)
			}
			got["warmup"] = n
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no notification from MinIO")
		}
	}
	cases := map[string]string{
		"boxes/input/bounding_box_" + box + ".jsonl":                    "fieldflow-box",
		"fields/input/" + box + "/fields_2025-06-02 late+upload.jsonl":  "fieldflow-field",
		"fields/input/" + box + "/fields_2025-06-03.jsonl":              "fieldflow-field",
		"fields/input/" + box + `/fields_2025-06-01 late+1 "x" é.jsonl`: "fieldflow-field",
		"fields/input/" + box + "/fields_2025-06-04 a%20b%2Bc.jsonl":    "fieldflow-field",
		"fields/input/readme.txt":                                       "",
		"boxes/input/bounding_box_NOTHEX.jsonl":                         "",
		"boxes/output/bounding_box_" + box + ".jsonl":                   "",
	}
	for key := range cases {
		put(key)
	}
	for len(got) < len(cases)+1 {
		select {
		case n := <-notes:
			if n.Err != nil {
				t.Fatal(n.Err)
			}
			for _, r := range n.Records {
				if _, ok := cases[r.S3.Object.Key]; ok {
					got[r.S3.Object.Key] = n
				}
			}
		case <-ctx.Done():
			t.Fatalf("got notifications for %d of %d keys", len(got)-1, len(cases))
		}
	}
	for key, template := range cases {
		n := got[key]
		// MinIO sends keys as uploaded: nothing to decode on this path.
		if n.Records[0].S3.Object.Key != key || !wire.has(key) {
			t.Errorf("MinIO sent key %q for %q (verbatim on the wire: %v)", n.Records[0].S3.Object.Key, key, wire.has(key))
		}
		checkTriggered(t, o, minioTrigger(t, o, n.Records), key, template)
	}
}

// minioTrigger runs records through the generated minio EventSource and
// Sensor: the EventSource publishes them as {"notification": records}
// under each event whose prefix filter the key passes.
func minioTrigger(t *testing.T, o *objects, records []notification.Event) []*wfv1.Workflow {
	t.Helper()
	data, err := json.Marshal(&events.MinioEventData{Notification: records})
	if err != nil {
		t.Fatal(err)
	}
	s := sensorNamed(t, o, minioSourceName)
	var wfs []*wfv1.Workflow
	for name, art := range o.eventSources[minioSourceName].Spec.Minio {
		if strings.HasPrefix(records[0].S3.Object.Key, art.Filter.Prefix) {
			wfs = append(wfs, trigger(t, o, s, name, data)...)
		}
	}
	return wfs
}

// TestMinIOSensorKeys runs notifications shaped as MinIO's listen API
// sends them (see TestMinIONotificationsTrigger: keys verbatim) through the
// minio Sensor: the Workflow must get the exact key, however odd, and
// nothing but a created input of an asset may trigger one.
func TestMinIOSensorKeys(t *testing.T) {
	o := decodeAll(t)
	fields := "fields/input/" + box + "/fields_2025-06-01"
	for _, tc := range []struct{ event, key, template string }{
		{"s3:ObjectCreated:Put", "boxes/input/bounding_box_" + box + ".jsonl", "fieldflow-box"},
		{"s3:ObjectCreated:Put", fields + " late.jsonl", "fieldflow-field"},
		{"s3:ObjectCreated:Put", fields + "+1.jsonl", "fieldflow-field"},
		{"s3:ObjectCreated:Put", fields + ` "x".jsonl`, "fieldflow-field"},
		{"s3:ObjectCreated:Put", fields + "_é.jsonl", "fieldflow-field"},
		{"s3:ObjectCreated:CompleteMultipartUpload", fields + ` late+1 "x" é.jsonl`, "fieldflow-field"},
		{"s3:ObjectCreated:Copy", fields + "_a%20b%2Bc.jsonl", "fieldflow-field"},
		{"s3:ObjectCreated:Put", "fields/input/readme.txt", ""},
		{"s3:ObjectCreated:Put", "boxes/input/bounding_box_NOTHEX.jsonl", ""},
		{"s3:ObjectCreated:Put", "fields/output/" + box + "/fields_2025-06-01.jsonl", ""},
		{"s3:ObjectRemoved:Delete", "boxes/input/bounding_box_" + box + ".jsonl", ""},
	} {
		t.Run(tc.event+" "+tc.key, func(t *testing.T) {
			checkTriggered(t, o, minioTrigger(t, o, []notification.Event{minioRecord(tc.event, tc.key)}), tc.key, tc.template)
		})
	}
}

// minioRecord is one record as MinIO RELEASE.2025-09-07 sent it in
// TestMinIONotificationsTrigger, identifiers aside.
func minioRecord(eventName, key string) notification.Event {
	var r notification.Event
	r.EventVersion, r.EventSource, r.EventTime, r.EventName = "2.0", "minio:s3", "2025-06-02T10:00:00.000Z", eventName
	r.UserIdentity.PrincipalID = "fieldflow"
	r.RequestParameters = map[string]string{"principalId": "fieldflow", "region": "", "sourceIPAddress": "127.0.0.1"}
	r.ResponseElements = map[string]string{"x-amz-request-id": "18ED577AB5BA3A62", "x-minio-origin-endpoint": "http://minio:9000"}
	r.S3.SchemaVersion, r.S3.ConfigurationID = "1.0", "Config"
	r.S3.Bucket.Name, r.S3.Bucket.ARN = "irrigation", "arn:aws:s3:::irrigation"
	r.S3.Bucket.OwnerIdentity.PrincipalID = "fieldflow"
	r.S3.Object.Key, r.S3.Object.Size, r.S3.Object.ETag = key, 3, "8a80554c91d9fca8acb82f023de02f11"
	r.S3.Object.ContentType, r.S3.Object.Sequencer = "application/octet-stream", "18ED577AB5CCEED3"
	r.Source.Host = "127.0.0.1"
	return r
}

// TestSQSNotificationsTrigger runs S3-to-SQS messages through the SQS
// Sensor: keys arrive form-URL-encoded and must reach the exact object;
// test events and keys of no asset trigger nothing.
func TestSQSNotificationsTrigger(t *testing.T) {
	o := decodeAll(t)
	s := sensorNamed(t, o, sqsSourceName)
	message := func(body string) []byte {
		// As the sqs EventSource with jsonBody publishes a message.
		raw := json.RawMessage(body)
		b, err := json.Marshal(&events.SQSEventData{MessageId: "m-1", Body: &raw})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	record := func(key string) string {
		// The shape AWS S3 sends (event version 2.1); keys are encoded as a
		// form value, a space as "+".
		return `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",` +
			`"eventTime":"2025-06-02T10:00:00.000Z","eventName":"ObjectCreated:Put",` +
			`"s3":{"s3SchemaVersion":"1.0","bucket":{"name":"irrigation","arn":"arn:aws:s3:::irrigation"},` +
			`"object":{"key":"` + url.QueryEscape(key) + `","size":3,"eTag":"0123","sequencer":"0055AED6DCD90281E5"}}}]}`
	}
	for _, tc := range []struct{ key, template string }{
		{"boxes/input/bounding_box_" + box + ".jsonl", "fieldflow-box"},
		{"fields/input/" + box + "/fields_2025-06-02 late+upload.jsonl", "fieldflow-field"},
		{"fields/input/" + box + "/fields_2025-06-02_ümlaut%.jsonl", "fieldflow-field"},
		{"fields/input/readme.txt", ""},
		{"fields/output/" + box + "/fields_2025-06-02.jsonl", ""},
	} {
		t.Run(tc.key, func(t *testing.T) {
			if !strings.Contains(record(tc.key), "+") && strings.Contains(tc.key, " ") {
				t.Fatal("the payload does not encode spaces as AWS does")
			}
			checkTriggered(t, o, trigger(t, o, s, sqsEventName, message(record(tc.key))), tc.key, tc.template)
		})
	}
	testEvent := `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2025-06-02T10:00:00.000Z","Bucket":"irrigation","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}`
	checkTriggered(t, o, trigger(t, o, s, sqsEventName, message(testEvent)), "s3:TestEvent", "")
	// A deletion never triggers processing.
	deleted := strings.Replace(record("boxes/input/bounding_box_"+box+".jsonl"), "ObjectCreated:Put", "ObjectRemoved:Delete", 1)
	checkTriggered(t, o, trigger(t, o, s, sqsEventName, message(deleted)), "deleted box", "")
}
