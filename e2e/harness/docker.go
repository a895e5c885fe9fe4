package harness

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-backup/vigil/plugin/scratch"
)

// Docker is a dockerd of the harness's own: its own socket, data root and
// exec root, no bridge and no iptables rules (tasks use the host network,
// where the servers listen on loopback). Nomad's docker driver talks to
// it; nothing else on the machine does.
type Docker struct {
	Proc *scratch.Proc
	// Host is the daemon's address, as DOCKER_HOST takes it.
	Host string
	root string
}

// StartDocker starts dockerd under dir/docker. It returns nil and no
// error when dockerd is not installed (make tools installs Debian's
// docker.io); the docker tests then skip, and fail under CI.
func StartDocker(ctx context.Context, dir string) (*Docker, error) {
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		return nil, nil
	}
	// A unix socket path has a limit of 108 bytes, and containerd's sits
	// under the exec root: keep both short.
	root, err := os.MkdirTemp("", "vd-")
	if err != nil {
		return nil, err
	}
	d := &Docker{Host: "unix://" + filepath.Join(root, "d.sock"), root: root}
	d.Proc, err = scratch.StartProc("dockerd", dir, scratch.ServerEnv(), bin,
		"--host", d.Host, "--data-root", filepath.Join(root, "data"), "--exec-root", filepath.Join(root, "x"),
		"--pidfile", filepath.Join(root, "d.pid"), "--bridge", "none", "--iptables=false", "--ip-masq=false")
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if d.Command(ctx, "info").Run() == nil {
			return d, nil
		}
		if d.Proc.Exited() || time.Now().After(deadline) || ctx.Err() != nil {
			d.Stop()
			return nil, fmt.Errorf("dockerd did not start:\n%s", d.Proc.LogTail(20))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Command is the docker CLI pointed at this daemon.
func (d *Docker) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(scratch.ServerEnv(), "DOCKER_HOST="+d.Host)
	return cmd
}

// Stop ends dockerd (it stops its containers and containerd first), then
// unmounts what a hard stop left and removes its state.
func (d *Docker) Stop() {
	if d == nil {
		return
	}
	if !d.Proc.Exited() {
		_ = syscall.Kill(d.Proc.Pid(), syscall.SIGTERM)
		for i := 0; i < 150 && !d.Proc.Exited(); i++ {
			time.Sleep(100 * time.Millisecond)
		}
	}
	d.Proc.Stop(5 * time.Second)
	unmountUnder(d.root)
	os.RemoveAll(d.root)
}

// unmountUnder lazily unmounts every mount under root, deepest first.
func unmountUnder(root string) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 1 && strings.HasPrefix(fields[1], root+"/") {
			points = append(points, fields[1])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		_ = syscall.Unmount(points[i], syscall.MNT_DETACH)
	}
}
