package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fieldflow/fieldflow/processor/plugin"
)

var pluginCmd = command{
	name:    "plugin",
	summary: "serve Argo's agent as the " + plugin.Name + " executor plugin (the sidecar of a workflow's agent pod) until SIGTERM",
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		port := fs.Int("port", plugin.Port, "port to listen on, unless LISTEN_FDS=1 hands a socket on descriptor 3")
		token := fs.String("token", plugin.TokenPath, "file holding the bearer token the agent sends")
		sa := fs.String("serviceaccount", plugin.ServiceAccountDir, "service account folder (token, ca.crt, namespace) to submit Workflows as")
		return func(ctx context.Context) error {
			p, err := open(ctx, *storeURL)
			if err != nil {
				return err
			}
			tok, err := readToken(*token)
			if err != nil {
				return err
			}
			srv, err := plugin.New(p, plugin.Options{Token: tok, ServiceAccountDir: *sa, Log: slog.Default()})
			if err != nil {
				return err
			}
			l, err := listen(*port)
			if err != nil {
				return err
			}
			return serve(ctx, l, srv)
		}
	},
}

// readToken reads the agent's token, which Argo's agent writes before the
// sidecar starts (its init container).
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", usageError(fmt.Sprintf("agent token: %v", err))
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", usageError("agent token: " + path + " is empty")
	}
	return tok, nil
}

// listen is the socket systemd's socket activation hands over (LISTEN_FDS=1:
// descriptor 3), which the local engine gives each sidecar since its pods
// share one network; else a port on every address, as in a pod. The
// variables are unset, so they are not passed on.
func listen(port int) (net.Listener, error) {
	fds, pid := os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_PID")
	if fds == "" || (pid != "" && pid != strconv.Itoa(os.Getpid())) {
		l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("listen: %w", err)
		}
		return l, nil
	}
	for _, v := range []string{"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"} {
		os.Unsetenv(v)
	}
	if fds != "1" {
		return nil, usageError(fmt.Sprintf("LISTEN_FDS=%s: want one socket", fds))
	}
	f := os.NewFile(3, "LISTEN_FDS socket")
	defer f.Close() // the listener holds a copy
	l, err := net.FileListener(f)
	if err != nil {
		return nil, usageError(fmt.Sprintf("LISTEN_FDS=1: descriptor 3: %v", err))
	}
	return l, nil
}

// shutdownTimeout bounds the wait for the nodes being answered at SIGTERM.
const shutdownTimeout = plugin.Timeout + 5*time.Second

// serve answers on l until ctx ends, then lets the requests being
// answered finish.
func serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	slog.Info("serving the executor plugin", "plugin", plugin.Name, "addr", l.Addr().String())
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	slog.Info("stopped")
	return nil
}
