package kubelet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// Serving is the kubelet's HTTPS endpoint, which the API server calls for
// pod logs with its kubelet client certificate.
type Serving struct {
	Addr         string // loopback host:port; port 0 picks one
	CertFile     string // serving certificate, valid for the address
	KeyFile      string
	ClientCAFile string // CA of the clients served
	ClientName   string // common name a client certificate must have; "" for any the CA signed
}

// Serve listens on s.Addr, registers the node with the port it got (the
// API server looks the kubelet up there) and serves the kubelet API in
// the background until ctx ends. It returns the address it listens on.
func (k *Kubelet) Serve(ctx context.Context, s Serving) (string, error) {
	cfg, err := s.tlsConfig()
	if err != nil {
		return "", err
	}
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return "", fmt.Errorf("kubelet listen: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := k.registerNode(ctx, port); err != nil {
		l.Close()
		return "", err
	}
	srv := &http.Server{Handler: k.handler(s.ClientName), TLSConfig: cfg, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(tls.NewListener(l, cfg)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			k.Log.Error("kubelet server", "err", err)
		}
	}()
	go func() { <-ctx.Done(); srv.Close() }()
	return l.Addr().String(), nil
}

// tlsConfig serves the certificate and requires a client certificate the
// CA signed: nobody else may read pods' logs.
func (s Serving) tlsConfig() (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("kubelet serving certificate: %w", err)
	}
	caPEM, err := os.ReadFile(s.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("kubelet client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("kubelet client CA %s: no certificate", s.ClientCAFile)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// handler routes the kubelet API this kubelet implements, for clients
// whose certificate names clientName.
func (k *Kubelet) handler(clientName string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", k.handleContainerLogs)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if clientName != "" && (r.TLS == nil || len(r.TLS.PeerCertificates) == 0 ||
			r.TLS.PeerCertificates[0].Subject.CommonName != clientName) {
			http.Error(w, "forbidden: only the API server may call this kubelet", http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
