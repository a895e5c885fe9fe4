package harness

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// PeakRSS follows a started process and returns its peak resident set size
// in bytes once it has exited (Wait is called here).
//
// Why not the child's rusage: on Linux, ru_maxrss survives execve, and Go
// starts children with vfork, so a child's ru_maxrss starts at the parent's
// own RSS. A test process with a large heap would be reported as the
// child's peak. VmHWM in /proc/PID/status belongs to the child's own
// address space; it is sampled every 20ms until the process exits.
func PeakRSS(cmd *exec.Cmd) (int64, error) {
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := vmHWM(cmd.Process.Pid); err == nil && v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	return peak.Load(), err
}

func vmHWM(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}
