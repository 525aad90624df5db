// Package ui serves Argo Workflows' own UI and API against the engine: the
// `argo server` of the argo binary beside fieldflow-local (`make local`
// builds it with the UI embedded), run as a supervised child.
//
// A shared machine must not get an open door to the engine: argo server
// v3.7.3 listens on every interface (it has no flag for an address), so it
// runs with client authentication and every request needs a bearer token.
// The engine mints one for the ServiceAccount Account, whose Role covers
// what a user of the UI does in the namespace and no Secrets, and writes it
// into its state folder, which only its owner can read.
package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/supervise"
	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/names"
)

// DefaultPort is argo server's own default port.
const DefaultPort = 2746

// TokenTTL is how long a minted token is valid; the engine mints a new one
// at every start.
const TokenTTL = 7 * 24 * time.Hour

// Options for the UI.
type Options struct {
	Argo       string // the argo binary
	Kubeconfig string // the engine's kubeconfig: the API server's address and CA
	Namespace  string
	StateDir   string
	Log        *slog.Logger
}

// Server is a running argo server.
type Server struct {
	URL       string // http://127.0.0.1:PORT
	TokenFile string // "Bearer <token>", as the UI's login form and ARGO_TOKEN take it
}

// ErrNoArgo is returned when there is no argo binary to serve the UI.
var ErrNoArgo = errors.New("no argo binary beside fieldflow-local: `make local` builds it with Argo's UI")

// Start grants the UI's account, mints its token, starts argo server and
// waits until it answers.
func Start(ctx context.Context, kube kubernetes.Interface, o Options) (*Server, error) {
	if _, err := os.Stat(o.Argo); err != nil {
		return nil, ErrNoArgo
	}
	if err := grant(ctx, kube, o.Namespace); err != nil {
		return nil, err
	}
	s := &Server{TokenFile: names.UIToken(o.StateDir)}
	if err := writeToken(ctx, kube, o.Namespace, s.TokenFile); err != nil {
		return nil, err
	}
	port, err := freePort(DefaultPort)
	if err != nil {
		return nil, err
	}
	s.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	child := &supervise.Child{Name: "argo-server", Dir: filepath.Join(o.StateDir, "argo-server"),
		Command: func(ctx context.Context) *exec.Cmd { return serverCommand(ctx, o, port) }}
	go child.Supervise(ctx, o.Log)
	if err := waitServing(ctx, s.URL, time.Minute); err != nil {
		return nil, fmt.Errorf("argo server: %w (see %s)", err, child.LogPath())
	}
	return s, nil
}

// serverCommand is argo server for the namespace, with client
// authentication, plain HTTP (it serves loopback users; TLS would only add
// a self-signed certificate to accept) and the UI's survey, feedback and
// new-version pop-ups off.
func serverCommand(ctx context.Context, o Options, port int) *exec.Cmd {
	cmd := exec.CommandContext(ctx, o.Argo, "server",
		"--auth-mode=client", "--secure=false", "--namespaced", "--namespace", o.Namespace,
		"--port", strconv.Itoa(port), "--loglevel", "warn")
	// Client auth builds each user's client from KUBECONFIG (without its
	// credentials), not from --kubeconfig.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+o.Kubeconfig,
		"FIRST_TIME_USER_MODAL=false", "FEEDBACK_MODAL=false", "NEW_VERSION_MODAL=false")
	return cmd
}

// writeToken mints a token for Account and writes it whole, readable by
// its owner only.
func writeToken(ctx context.Context, kube kubernetes.Interface, ns, path string) error {
	ttl := int64(TokenTTL / time.Second)
	tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, Account,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &ttl}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for the UI's service account %s: %w", Account, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte("Bearer "+tr.Status.Token), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// freePort is want when nothing listens on it on any interface (argo
// server binds them all), else one the kernel picks.
func freePort(want int) (int, error) {
	if l, err := net.Listen("tcp", ":"+strconv.Itoa(want)); err == nil {
		l.Close()
		return want, nil
	}
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for argo server: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitServing polls until argo server answers its API. Its HTTP side
// answers 503 until its gRPC side is up; without a token a ready server
// answers 401.
func waitServing(ctx context.Context, url string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/info", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("not serving after %s: %v", limit, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
