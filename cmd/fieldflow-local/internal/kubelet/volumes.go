package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MountsEnv names the variable that tells a process where its container's
// mounts are: a JSON object from mount path to folder. A process has no
// mount namespace of its own here, so a program that reads fixed paths
// (Argo's agent reads /var/run/argo and the service account folder) looks
// them up in it.
const MountsEnv = "FIELDFLOW_LOCAL_MOUNTS"

// Mounts reads MountsEnv: the folder mounted on each path, by mount path.
func Mounts() (map[string]string, error) {
	m := map[string]string{}
	if v := os.Getenv(MountsEnv); v != "" {
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return nil, fmt.Errorf("%s: %w", MountsEnv, err)
		}
	}
	return m, nil
}

// tokenSeconds is how long a service account token the kubelet issues
// lasts: longer than a workflow's deadline (an hour), so that an agent
// never outlives its token.
const tokenSeconds = 2 * 3600

// podVolumes makes a folder for each volume of pod under dir/volumes, as
// a kubelet mounts them: an emptyDir is an empty folder, a Secret's keys
// are files. A service account token Secret, which the token controller
// fills in a cluster and nothing fills here, gets what that controller
// puts in it: a token the API server issues for its account, bound to the
// Secret, the cluster's CA and the namespace. It returns the folders by
// volume name, relative to dir.
func (k *Kubelet) podVolumes(ctx context.Context, pod *corev1.Pod, dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		rel := filepath.Join("volumes", v.Name)
		folder := filepath.Join(dir, rel)
		if err := os.MkdirAll(folder, 0o700); err != nil {
			return nil, err
		}
		out[v.Name] = rel
		if v.Secret == nil {
			continue
		}
		files, err := k.secretFiles(ctx, pod, v.Secret.SecretName)
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(folder, name), data, 0o600); err != nil {
				return nil, fmt.Errorf("volume %s: %w", v.Name, err)
			}
		}
	}
	return out, nil
}

// secretFiles are the files of a Secret volume.
func (k *Kubelet) secretFiles(ctx context.Context, pod *corev1.Pod, name string) (map[string][]byte, error) {
	s, err := k.Kube.CoreV1().Secrets(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	if s.Type != corev1.SecretTypeServiceAccountToken {
		return s.Data, nil
	}
	sa := s.Annotations[corev1.ServiceAccountNameKey]
	tr, err := k.Kube.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{
		ExpirationSeconds: ptr(int64(tokenSeconds)),
		// Bound to the Secret, as the token controller's tokens are: a token
		// bound to a pod must be of the pod's own account, and an agent pod
		// mounts its plugins' accounts' tokens too.
		BoundObjectRef: &authv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: s.Name, UID: s.UID},
	}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token of service account %s for secret %s: %w", sa, name, err)
	}
	ca, err := k.caData()
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		corev1.ServiceAccountTokenKey:     []byte(tr.Status.Token),
		corev1.ServiceAccountRootCAKey:    ca,
		corev1.ServiceAccountNamespaceKey: []byte(pod.Namespace),
	}, nil
}

func (k *Kubelet) caData() ([]byte, error) {
	if len(k.Config.CAData) > 0 {
		return k.Config.CAData, nil
	}
	b, err := os.ReadFile(k.Config.CAFile)
	if err != nil {
		return nil, fmt.Errorf("API server CA: %w", err)
	}
	return b, nil
}

// mountsOf maps a container's mount paths to folders relative to the pod
// folder, subPath included.
func mountsOf(ctr corev1.Container, vols map[string]string) (volumes, error) {
	m := volumes{}
	for _, vm := range ctr.VolumeMounts {
		rel, ok := vols[vm.Name]
		if !ok {
			return nil, fmt.Errorf("container %s mounts %s, which the pod does not have", ctr.Name, vm.Name)
		}
		m[vm.MountPath] = filepath.Join(rel, vm.SubPath)
	}
	return m, nil
}

// inClusterEnv is what a kubelet tells every container about the API
// server: where it is.
func (k *Kubelet) inClusterEnv() (map[string]string, error) {
	u, err := url.Parse(k.Config.Host)
	if err != nil {
		return nil, fmt.Errorf("API server address %q: %w", k.Config.Host, err)
	}
	return map[string]string{"KUBERNETES_SERVICE_HOST": u.Hostname(), "KUBERNETES_SERVICE_PORT": u.Port()}, nil
}
