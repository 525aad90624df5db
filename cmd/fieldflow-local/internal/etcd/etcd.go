// Package etcd runs a single-member etcd in this process, bound to
// 127.0.0.1, with its data in a folder of the state directory.
package etcd

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// Server is a running embedded etcd.
type Server struct {
	etcd      *embed.Etcd
	ClientURL string
}

// Start starts etcd with its data in dir, listening for clients and peers on
// the given local ports, and returns once it serves requests.
func Start(ctx context.Context, dir string, clientPort, peerPort int) (*Server, error) {
	cfg, err := config(dir, clientPort, peerPort)
	if err != nil {
		return nil, err
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start etcd in %s: %w", dir, err)
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
	slog.Info("etcd ready", "url", s.ClientURL, "dir", dir)
	return s, nil
}

func config(dir string, clientPort, peerPort int) (*embed.Config, error) {
	client, err := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", clientPort))
	if err != nil {
		return nil, fmt.Errorf("etcd client url: %w", err)
	}
	peer, err := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", peerPort))
	if err != nil {
		return nil, fmt.Errorf("etcd peer url: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "fieldflow"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	return cfg, nil
}

// Err reports a fatal etcd error while it runs.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Stop closes etcd and waits for it to release its data directory.
func (s *Server) Stop() {
	s.etcd.Close()
	slog.Info("etcd stopped")
}
