package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	executorplugins "github.com/argoproj/argo-workflows/v3/pkg/plugins/executor"
	"github.com/argoproj/argo-workflows/v3/workflow/executor/plugins/rpc"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/plugin"
)

// TestPluginSocketActivation starts `fieldflow plugin` as the local
// engine's kubelet does, with its socket on descriptor 3 and LISTEN_FDS=1,
// asks it for a node with Argo's RPC client, and stops it with SIGTERM.
func TestPluginSocketActivation(t *testing.T) {
	dir := t.TempDir()
	boxIn := "boxes/input/bounding_box_" + box + ".jsonl"
	write(t, dir, boxIn, rec(box))
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("agent-token"), 0o400); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sock, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	l.Close() // the file is a copy of the socket, which stays open

	// A port that is taken: the plugin must not try it.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)

	cmd := exec.Command(bin, "plugin", "--store", dir, "--port", port, "--token", tokenFile, "--serviceaccount", t.TempDir())
	cmd.Env = append(os.Environ(), "LISTEN_FDS=1")
	cmd.ExtraFiles = []*os.File{sock}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sock.Close()
	defer cmd.Process.Kill()

	tmpl := wfv1.Template{Name: "status", Plugin: &wfv1.Plugin{Object: wfv1.Object{Value: json.RawMessage(`{"` + plugin.Name + `": {"status": {}}}`)}}}
	args := executorplugins.ExecuteTemplateArgs{
		Workflow: &executorplugins.Workflow{ObjectMeta: executorplugins.ObjectMeta{Name: "fieldflow-reconcile-x", Namespace: "fieldflow", UID: "u"}},
		Template: &tmpl,
	}
	var reply executorplugins.ExecuteTemplateReply
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rpc.New("http://"+l.Addr().String(), "agent-token").ExecuteTemplate(ctx, args, &reply); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if reply.Node == nil || reply.Node.Phase != wfv1.NodeSucceeded || reply.Node.Message != "1 inputs: 1 ready" {
		t.Errorf("reply %+v", reply.Node)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"serving the executor plugin", "addr=" + l.Addr().String(), "op=status", "stopped"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, stderr.String())
		}
	}
}

// TestListen picks the socket: descriptor 3 under socket activation,
// meant for this process, else the port.
func TestListen(t *testing.T) {
	for _, tc := range []struct {
		name, fds, pid string
		err            string // "" for a listener on the port
	}{
		{"no activation", "", "", ""},
		{"activation of another process", "1", "1", ""},
		{"two sockets", "2", "", "LISTEN_FDS=2: want one socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("LISTEN_FDS", tc.fds)
			t.Setenv("LISTEN_PID", tc.pid)
			if tc.fds == "" {
				os.Unsetenv("LISTEN_FDS")
			}
			l, err := listen(0)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err %v, want %q", err, tc.err)
				}
				if os.Getenv("LISTEN_FDS") != "" {
					t.Error("LISTEN_FDS is still set")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if _, ok := l.Addr().(*net.TCPAddr); !ok {
				t.Errorf("listener on %v", l.Addr())
			}
		})
	}
}

// TestPluginRefuses: without the agent's token the sidecar does not start.
func TestPluginRefuses(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "token")
	os.WriteFile(empty, []byte("\n"), 0o400)
	for _, tc := range []struct {
		name, token, stderr string
	}{
		{"no token file", filepath.Join(t.TempDir(), "nope"), "agent token: open "},
		{"empty token", empty, "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fieldflow(t, nil, "plugin", "--store", t.TempDir(), "--token", tc.token, "--port", "0")
			if r.code != pipeline.ExitPermanent || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, want %d and %q:\n%s", r.code, pipeline.ExitPermanent, tc.stderr, r.stderr)
			}
		})
	}
}
