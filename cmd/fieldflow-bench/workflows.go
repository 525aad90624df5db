package main

import (
	"context"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// created tells when the Workflow for an uploaded key was created, which
// splits a latency into the event path (upload to Workflow) and Argo with
// the pod (Workflow to output). A Workflow's creationTimestamp has whole
// seconds only, too coarse for paths of about a second, so the time a
// watch on the engine's API server delivers the Workflow's ADDED event
// stands for it: a few milliseconds late on one machine.
type created struct {
	argo wfclientset.Interface
	mu   sync.Mutex
	at   map[string]time.Time          // first ADDED, by the Workflow's key argument
	uids map[string]map[types.UID]bool // Workflows per key: more than one is a duplicated event
	rv   string                        // the last resourceVersion seen, to watch on from
}

// watchCreated starts following every Workflow of the engine until ctx ends.
func watchCreated(ctx context.Context, argo wfclientset.Interface) (*created, error) {
	c := &created{argo: argo, at: map[string]time.Time{}, uids: map[string]map[types.UID]bool{}}
	w, err := c.watch(ctx)
	if err != nil {
		return nil, err
	}
	go c.follow(ctx, w)
	return c, nil
}

func (c *created) watch(ctx context.Context) (watch.Interface, error) {
	c.mu.Lock()
	rv := c.rv
	c.mu.Unlock()
	return c.argo.ArgoprojV1alpha1().Workflows(metav1.NamespaceAll).Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
}

// follow records ADDED events, and watches again from where it was when
// the API server ends a watch (it does after a while), or from now, with
// every Workflow listed again, when that version is gone.
func (c *created) follow(ctx context.Context, w watch.Interface) {
	for {
		for ev := range w.ResultChan() {
			if wf, ok := ev.Object.(*wfv1.Workflow); ok {
				c.record(ev.Type, wf)
			} else if ev.Type == watch.Error {
				c.mu.Lock()
				c.rv = ""
				c.mu.Unlock()
			}
		}
		time.Sleep(100 * time.Millisecond) // no busy loop if the server keeps ending watches
		var err error
		if w, err = c.watch(ctx); err != nil {
			return
		}
	}
}

func (c *created) record(t watch.EventType, wf *wfv1.Workflow) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rv = wf.ResourceVersion
	p := wf.Spec.Arguments.GetParameterByName(pipeline.KeyParam)
	if t != watch.Added || p == nil || p.Value == nil {
		return
	}
	key := p.Value.String()
	if c.uids[key] == nil {
		c.at[key] = now
		c.uids[key] = map[types.UID]bool{}
	}
	c.uids[key][wf.UID] = true
}

// get returns when the first Workflow for key was seen and how many there are.
func (c *created) get(key string) (time.Time, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at[key], len(c.uids[key])
}
