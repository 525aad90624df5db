// Package localminio runs a real MinIO server on this machine, on a free
// loopback port with its data in a folder: for `make demo-minio`, the
// bench and the tests (package s3test). The binary is built by the
// Makefile (go install of a pinned MinIO release) into
// .cache/minio-VERSION/; FIELDFLOW_MINIO names another.
package localminio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
)

// Server is a running MinIO.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string

	bin, dir         string
	address, console string // host:port
	cmd              *exec.Cmd
}

// Binary finds the MinIO server binary.
func Binary() (string, error) {
	if p := os.Getenv("FIELDFLOW_MINIO"); p != "" {
		return filepath.Abs(p)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			found, _ := filepath.Glob(filepath.Join(dir, ".cache", "minio-*", "minio"))
			if len(found) == 0 {
				return "", fmt.Errorf("no MinIO binary in %s", filepath.Join(dir, ".cache"))
			}
			return found[len(found)-1], nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working folder")
		}
		dir = parent
	}
}

// Start runs MinIO on a free loopback port with its data in dir and waits
// until it answers.
func Start(bin, dir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	console, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{
		Endpoint:  fmt.Sprintf("http://127.0.0.1:%d", port),
		AccessKey: "fieldflow",
		SecretKey: "fieldflow-" + RandomHex(8),
		bin:       bin,
		dir:       dir,
		address:   fmt.Sprintf("127.0.0.1:%d", port),
		console:   fmt.Sprintf("127.0.0.1:%d", console),
	}
	if err := s.start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// start runs the server process and waits until it answers.
func (s *Server) start() error {
	s.cmd = exec.Command(s.bin, "server", "--quiet",
		"--address", s.address,
		"--console-address", s.console,
		filepath.Join(s.dir, "data"))
	s.cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	log, err := os.OpenFile(filepath.Join(s.dir, "minio.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	if err := s.wait(30 * time.Second); err != nil {
		s.Stop()
		out, _ := os.ReadFile(log.Name())
		return fmt.Errorf("minio did not start: %w\n%s", err, out)
	}
	return nil
}

// Stop kills the server, as a crash or an outage would, and keeps its data:
// calls fail until Restart.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
	s.cmd = nil
}

// Restart starts the server again on the same port and data folder,
// stopping it first if it runs, and waits until it answers.
func (s *Server) Restart() error {
	s.Stop()
	return s.start()
}

func (s *Server) wait(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no answer from %s in %s", s.Endpoint, limit)
}

// SetEnv points the standard AWS variables at the server, the way a user
// points fieldflow at MinIO.
func (s *Server) SetEnv() {
	os.Setenv("AWS_ACCESS_KEY_ID", s.AccessKey)
	os.Setenv("AWS_SECRET_ACCESS_KEY", s.SecretKey)
	os.Setenv("AWS_ENDPOINT_URL", s.Endpoint)
	os.Setenv("AWS_REGION", "us-east-1")
	os.Unsetenv("AWS_PROFILE")
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// Env returns the same settings as SetEnv for a child process.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_ENDPOINT_URL=" + s.Endpoint,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// CreateBucket creates the bucket name and returns a store on it, through
// the AWS variables (SetEnv). A loaded machine can answer ready before
// MinIO has initialised its drives ("Server not initialized yet"), so it
// retries for a while.
func (s *Server) CreateBucket(ctx context.Context, name string) (*s3store.Store, error) {
	st, err := s3store.New(ctx, name)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := st.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name})
		if err == nil {
			return st, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("create bucket %s: %w", name, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Close stops the server and removes its data.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RandomHex is n random bytes in hex: names no two runs share.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
