// Package etcd runs a single-member etcd in this process, bound to
// 127.0.0.1, with its data in a folder of the state directory.
//
// etcd holds every object of the cluster, Secrets included, and has no
// authentication of its own here: whoever reaches it bypasses the API
// server's tokens and RBAC. So it speaks only TLS and asks every client,
// peers included, for a certificate signed by the engine's CA, whose key
// only the engine's user can read.
package etcd

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/pki"
)

// Options say where etcd keeps its data and listens.
type Options struct {
	Dir        string  // data folder
	ClientPort int     // on 127.0.0.1
	PeerPort   int     // on 127.0.0.1; a single member still binds one
	CA         *pki.CA // signs etcd's certificates and those of its clients
}

// Server is a running embedded etcd.
type Server struct {
	etcd      *embed.Etcd
	ClientURL string // https://127.0.0.1:port
}

// Start starts etcd and returns once it serves requests.
func Start(ctx context.Context, o Options) (*Server, error) {
	cfg, err := config(o)
	if err != nil {
		return nil, err
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start etcd in %s: %w", o.Dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd failed before ready: %w", err)
	case <-time.After(time.Minute):
		e.Close()
		return nil, fmt.Errorf("etcd not ready after a minute")
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("etcd start: %w", ctx.Err())
	}
	s := &Server{etcd: e, ClientURL: cfg.AdvertiseClientUrls[0].String()}
	slog.Info("etcd ready", "url", s.ClientURL, "dir", o.Dir)
	return s, nil
}

func config(o Options) (*embed.Config, error) {
	tlsInfo, err := serverTLS(o.CA)
	if err != nil {
		return nil, err
	}
	client, err := url.Parse(fmt.Sprintf("https://127.0.0.1:%d", o.ClientPort))
	if err != nil {
		return nil, fmt.Errorf("etcd client url: %w", err)
	}
	peer, err := url.Parse(fmt.Sprintf("https://127.0.0.1:%d", o.PeerPort))
	if err != nil {
		return nil, fmt.Errorf("etcd peer url: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "fieldflow"
	cfg.Dir = o.Dir
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.ClientTLSInfo = tlsInfo
	cfg.PeerTLSInfo = tlsInfo
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	return cfg, nil
}

// serverAndClient are the uses of etcd's own certificate.
var serverAndClient = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}

// serverTLS issues etcd's certificate and requires client certificates
// signed by ca. The certificate serves and is also a client one: etcd's
// HTTP gateway dials etcd's own gRPC with it, as a peer dials peers.
func serverTLS(ca *pki.CA) (transport.TLSInfo, error) {
	p, err := ca.Issue("etcd-server", pki.Spec{
		CommonName: "etcd",
		IPs:        []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:   []string{"localhost"},
		Usages:     serverAndClient,
	})
	if err != nil {
		return transport.TLSInfo{}, fmt.Errorf("etcd certificate: %w", err)
	}
	return transport.TLSInfo{
		CertFile:       p.CertFile,
		KeyFile:        p.KeyFile,
		TrustedCAFile:  ca.CertFile,
		ClientCertAuth: true,
	}, nil
}

// Err reports a fatal etcd error while it runs.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Stop closes etcd and waits for it to release its data directory.
func (s *Server) Stop() {
	s.etcd.Close()
	slog.Info("etcd stopped")
}
