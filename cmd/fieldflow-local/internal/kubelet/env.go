package kubelet

import (
	"context"
	"fmt"
	"maps"
	"os"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// env builds a process environment as a container runtime does: the
// image's variables (KEY=VALUE), under the container's own (literal
// values, Secret and ConfigMap references read from the API, the pod's
// name and namespace); then the kubelet's overrides, and over them over.
// Nothing of this process's own environment leaks in but PATH and HOME,
// under the image's.
func (k *Kubelet) env(ctx context.Context, pod *corev1.Pod, ctr corev1.Container, image []string, over ...map[string]string) ([]string, error) {
	vars := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME")}
	for _, kv := range image {
		if name, v, ok := strings.Cut(kv, "="); ok {
			vars[name] = v
		}
	}
	objs := objects{}
	for _, e := range ctr.Env {
		v, ok, err := k.value(ctx, pod, e, objs)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if ok {
			vars[e.Name] = v
		}
	}
	maps.Copy(vars, k.Env)
	for _, o := range over {
		maps.Copy(vars, o)
	}
	out := make([]string, 0, len(vars))
	for name, v := range vars {
		out = append(out, name+"="+v)
	}
	sort.Strings(out)
	return out, nil
}

// objects holds the Secrets and ConfigMaps one container's environment
// read, by kind and name: a container names the same few objects in many
// variables, and each is read once (the kubelet's client is rate limited,
// as a real kubelet's).
type objects map[string]result

type result struct {
	data map[string]string
	err  error
}

// once reads the object of kind and name with get, or returns what an
// earlier call read.
func (o objects) once(kind, name string, get func() (map[string]string, error)) func() (map[string]string, error) {
	return func() (map[string]string, error) {
		id := kind + "/" + name
		if r, ok := o[id]; ok {
			return r.data, r.err
		}
		data, err := get()
		o[id] = result{data, err}
		return data, err
	}
}

// value is an env var's value and whether it is set. As in a real kubelet,
// a reference to a missing object or key is an error, unless it is
// optional: then the variable is left unset.
func (k *Kubelet) value(ctx context.Context, pod *corev1.Pod, e corev1.EnvVar, objs objects) (string, bool, error) {
	from := e.ValueFrom
	switch {
	case from == nil:
		return e.Value, true, nil
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		return lookup(ref.Name, ref.Key, ref.Optional, objs.once("Secret", ref.Name, func() (map[string]string, error) {
			s, err := k.Kube.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			data := map[string]string{}
			for key, b := range s.Data {
				data[key] = string(b)
			}
			return data, nil
		}))
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		return lookup(ref.Name, ref.Key, ref.Optional, objs.once("ConfigMap", ref.Name, func() (map[string]string, error) {
			cm, err := k.Kube.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return cm.Data, nil
		}))
	case from.FieldRef != nil:
		switch from.FieldRef.FieldPath {
		case "metadata.name":
			return pod.Name, true, nil
		case "metadata.namespace":
			return pod.Namespace, true, nil
		}
	}
	return "", true, nil
}

// lookup reads key from the object get returns. A missing object or key
// leaves an optional variable unset and is an error otherwise.
func lookup(name, key string, optional *bool, get func() (map[string]string, error)) (string, bool, error) {
	opt := optional != nil && *optional
	data, err := get()
	if apierrors.IsNotFound(err) && opt {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	v, ok := data[key]
	if !ok && !opt {
		return "", false, fmt.Errorf("%s has no key %q", name, key)
	}
	return v, ok, nil
}
