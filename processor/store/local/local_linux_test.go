package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/fieldflow/fieldflow/processor/store"
)

func init() { helpers["ramfs"] = helperRamfs }

// helperRamfs runs in a new user and mount namespace, where it may mount a
// ramfs (a file system without extended attributes) and try Put on it.
// Exit code 3 means the namespace could not be set up.
func helperRamfs() int {
	dir, err := os.MkdirTemp("", "fieldflow-ramfs-")
	if err == nil {
		err = syscall.Mount("ramfs", dir, "ramfs", 0, "")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mount ramfs:", err)
		return 3
	}
	if err := checkNoXattrs(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func checkNoXattrs(dir string) error {
	s, err := New(dir)
	if err != nil {
		return err
	}
	ctx := context.Background()
	err = s.Put(ctx, "a/meta", strings.NewReader("x"), store.Metadata{"k": "v"})
	if err == nil || !strings.Contains(err.Error(), "extended attributes") {
		return fmt.Errorf("put with metadata on a ramfs: err = %v, want one about extended attributes", err)
	}
	if err := s.Put(ctx, "a/plain", strings.NewReader("x"), nil); err != nil {
		return fmt.Errorf("put without metadata on a ramfs: %w", err)
	}
	info, err := s.Stat(ctx, "a/plain")
	if err != nil || info.Metadata != nil {
		return fmt.Errorf("stat on a ramfs: %+v, %v", info, err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "a"))
	if err != nil || len(entries) != 1 || entries[0].Name() != "plain" {
		return fmt.Errorf("the ramfs holds %v (%v), want only a/plain", entries, err)
	}
	return nil
}

// TestNoXattrFileSystem checks the error of Put with metadata on a file
// system without user extended attributes, on a real one: a ramfs, mounted
// in a user namespace of a child process. Skipped where the machine allows
// no unprivileged user namespaces.
func TestNoXattrFileSystem(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FIELDFLOW_TEST_HELPER=ramfs")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		t.Skipf("no ramfs in a user namespace here: %s", out)
	case !errors.As(err, &exit):
		t.Skipf("no user namespace here: %v", err)
	default:
		t.Errorf("%v: %s", err, out)
	}
}
