package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/plugin/scratch"
)

// Redis is a Redis server from Debian's packages, run directly on a free
// port of 127.0.0.1 with nothing saved on its own. Its default user has a
// password (Vault's database engine logs in with it to make users).
type Redis struct {
	Dir      string
	Port     int
	Password string
	server   *exec.Cmd
	exited   chan error
}

// StartRedis starts a server in dir (a new folder when empty), loading
// dir/dump.rdb when it is there.
func StartRedis(ctx context.Context, dir string) (*Redis, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("harness: no Redis server (Debian's redis-server; make tools installs it): %w", ErrToolMissing)
	}
	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "vigil-redis-"); err != nil {
			return nil, err
		}
	}
	r := &Redis{Dir: dir, Password: "harness-" + strconv.Itoa(os.Getpid())}
	if r.Port, err = scratch.FreePort(); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return nil, err
	}
	r.server = exec.Command("redis-server", "--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1", "--dir", dir,
		"--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", "--requirepass", r.Password)
	r.server.Stdout, r.server.Stderr = log, log
	if err := r.server.Start(); err != nil {
		return nil, fmt.Errorf("harness: redis-server: %w", err)
	}
	r.exited = make(chan error, 1)
	go func() { r.exited <- r.server.Wait(); log.Close() }()
	for deadline := time.Now().Add(30 * time.Second); ; {
		// redis-cli exits 0 on an error reply (LOADING): read the answer.
		if out, _ := r.Cmd(ctx, "PING"); out == "PONG" {
			return r, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.Stop()
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			return nil, fmt.Errorf("harness: redis-server did not start\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Cmd runs one command as the default user and returns redis-cli's answer.
func (r *Redis) Cmd(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "redis-cli", append([]string{"-p", strconv.Itoa(r.Port)}, args...)...)
	cmd.Env = append(os.Environ(), "REDISCLI_AUTH="+r.Password)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("harness: redis-cli %s: %w\n%s", args[0], err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// Stop stops the server, without saving, and removes its folder.
func (r *Redis) Stop() {
	interrupt(r.server, r.exited, 10*time.Second)
	os.RemoveAll(r.Dir)
}
