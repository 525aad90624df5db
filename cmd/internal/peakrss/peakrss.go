// Package peakrss measures the peak resident memory of a child process.
//
// The rusage of a waited child is no measure: Go starts children with
// vfork, and Linux carries the parent's peak into the child's ru_maxrss
// when it execs, so a large parent (a test that held a big file, a
// benchmark that uploaded thousands of objects) made a small child look
// large. This reads the child's own VmHWM from /proc while it runs.
package peakrss

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Run starts cmd, waits for it and returns its peak resident size in KiB
// (the last VmHWM read before it ended, polled every 2 ms) with Wait's
// error.
func Run(cmd *exec.Cmd) (int64, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var peak atomic.Int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			if kib := vmHWM(cmd.Process.Pid); kib > peak.Load() {
				peak.Store(kib)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	err := cmd.Wait()
	close(stop)
	<-done
	return peak.Load(), err
}

// vmHWM reads VmHWM (KiB) from /proc/PID/status; 0 once the process is
// gone.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib
		}
	}
	return 0
}
