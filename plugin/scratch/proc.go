// Package scratch starts short-lived servers on 127.0.0.1: the scratch
// Consul agents and etcd members restore drills restore into, and (through
// e2e/harness) the real servers of the tests and the demo.
package scratch

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Proc is a server process with its log captured in a file.
type Proc struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// ServerEnv is the environment for servers: AWS_CA_BUNDLE removed (it stops
// Nomad's env_aws fingerprinter and breaks Vault's and MinIO's AWS clients),
// and no client settings leaking in from the operator's shell.
func ServerEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "AWS_CA_BUNDLE", strings.HasPrefix(k, "NOMAD_"), strings.HasPrefix(k, "CONSUL_"),
			strings.HasPrefix(k, "VAULT_"), strings.HasPrefix(k, "MINIO_"), strings.HasPrefix(k, "ETCD"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// StartProc starts bin with args, logging to dir/name.log. The process gets
// its own process group so Stop also ends what it started (Nomad's tasks).
func StartProc(name, dir string, env []string, bin string, args ...string) (*Proc, error) {
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("scratch: %s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("scratch: start %s: %w", name, err)
	}
	p := &Proc{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process ID.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the process group, then SIGKILL after the grace.
func (p *Proc) Stop(grace time.Duration) {
	if p == nil || p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	// Children that left the group (none expected) are not chased here.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// Bin is the path of the program the process runs.
func (p *Proc) Bin() string {
	if p == nil || p.cmd == nil {
		return ""
	}
	return p.cmd.Path
}

// Kill ends the process group at once.
func (p *Proc) Kill() {
	if p == nil || p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// LogTail returns the last n lines of the process log.
func (p *Proc) LogTail(n int) string {
	if p == nil {
		return ""
	}
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("scratch: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreePorts returns n distinct free ports.
func FreePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("scratch: free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// WaitHTTP polls url until ok accepts the response, the process exits, or
// the timeout passes.
func WaitHTTP(ctx context.Context, p *Proc, url string, timeout time.Duration, ok func(*http.Response) bool) error {
	return WaitHTTPWith(ctx, &http.Client{Timeout: 2 * time.Second}, p, url, timeout, ok)
}

// WaitHTTPWith is WaitHTTP with a client of the caller's (TLS).
func WaitHTTPWith(ctx context.Context, client *http.Client, p *Proc, url string, timeout time.Duration, ok func(*http.Response) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		if p != nil && p.Exited() {
			return fmt.Errorf("scratch: %s exited before it was ready (%v); log tail:\n%s", p.Name, p.err, p.LogTail(30))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			good := ok(resp)
			last = resp.Status
			resp.Body.Close()
			if good {
				return nil
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			name := url
			tail := ""
			if p != nil {
				name, tail = p.Name, p.LogTail(30)
			}
			return fmt.Errorf("scratch: %s not ready after %s (last: %s); log tail:\n%s", name, timeout, last, tail)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Status200 accepts an HTTP 200.
func Status200(r *http.Response) bool { return r.StatusCode == http.StatusOK }
