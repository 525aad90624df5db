package events

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// argoEventsRoot is where Argo Events reads mounted secrets:
// /argo-events/secrets/NAME/KEY, a path it does not let one change.
const argoEventsRoot = "/argo-events"

// privateMounts gives the child its own mount namespace, where it binds
// its secrets folder on /argo-events: two engines on one machine, or the
// EventSource and the Sensor, each see only their own, and nothing is
// written outside the state folder. Without root, a user namespace in
// which the user is root (as `unshare -r` makes) grants the right to
// mount: a process keeps its capabilities across exec only as uid 0.
func privateMounts(attr *syscall.SysProcAttr) {
	attr.Unshareflags = syscall.CLONE_NEWNS // Go makes / private in it
	if uid, gid := os.Getuid(), os.Getgid(); uid != 0 {
		attr.Cloneflags = syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}}
	}
}

// ensureMountPoint makes the empty /argo-events a bind mount needs; it
// holds nothing outside a child's namespace.
func ensureMountPoint() error {
	err := os.Mkdir(argoEventsRoot, 0o755)
	if err == nil || errors.Is(err, os.ErrExist) {
		return nil
	}
	return fmt.Errorf("argo events reads its secrets under %s, which cannot be made (%w): create it once, empty, as root", argoEventsRoot, err)
}

// BindSecrets, in the child, mounts src read-only on /argo-events.
func BindSecrets(src string) error {
	if err := unix.Mount(src, argoEventsRoot, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", src, argoEventsRoot, err)
	}
	if err := unix.Mount("", argoEventsRoot, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("read-only %s: %w", argoEventsRoot, err)
	}
	return nil
}
