package child

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/fieldflow/fieldflow/cmd/fieldflow-local/internal/events"
)

// runBus is the EventBus: a NATS server with JetStream on loopback, its
// streams stored under DIR/jetstream so that a restart keeps undelivered
// events. Clients must present a certificate from the engine's CA: that is
// the bus's authentication.
func runBus(ctx context.Context, dir string) error {
	host, portS, err := net.SplitHostPort(os.Getenv(events.EnvBusAddr))
	if err != nil {
		return fmt.Errorf("%s: %w", events.EnvBusAddr, err)
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return fmt.Errorf("%s: %w", events.EnvBusAddr, err)
	}
	tc, err := busTLS()
	if err != nil {
		return err
	}
	opts := &server.Options{
		ServerName: "fieldflow-local-eventbus",
		Host:       host, Port: port,
		JetStream: true, StoreDir: filepath.Join(dir, "jetstream"),
		TLS: true, TLSVerify: true, TLSConfig: tc, TLSTimeout: 5,
		NoSigs:     true,
		MaxPayload: 1 << 20,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("nats server: %w", err)
	}
	s.ConfigureLogger()
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return errors.New("nats server not ready after 30s")
	}
	<-ctx.Done()
	s.Shutdown()
	s.WaitForShutdown()
	return nil
}

// busTLS serves the bus's certificate and requires a client certificate
// signed by the engine's CA.
func busTLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(os.Getenv(events.EnvBusCert), os.Getenv(events.EnvBusKey))
	if err != nil {
		return nil, fmt.Errorf("event bus certificate: %w", err)
	}
	caPEM, err := os.ReadFile(os.Getenv(events.EnvBusCA))
	if err != nil {
		return nil, fmt.Errorf("event bus CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("event bus CA: no certificate")
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}, nil
}
