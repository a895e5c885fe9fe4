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

// MariaDB is a MariaDB server from Debian's packages, run directly (no
// system service). root logs in over the unix socket without a password
// (the harness); over TCP every login needs its password, and the
// anonymous users mariadb-install-db makes are dropped and no name is
// resolved (127.0.0.1 is not "localhost"), so a database user
// from Vault is really checked.
type MariaDB struct {
	Dir, Socket string
	Port        int
	// Password is root@127.0.0.1's, for Vault's database engine.
	Password string
	server   *exec.Cmd
	exited   chan error
}

// StartMariaDB initialises a data folder and starts the server on a free
// port of 127.0.0.1.
func StartMariaDB(ctx context.Context) (*MariaDB, error) {
	if _, err := exec.LookPath("mariadb-install-db"); err != nil {
		return nil, fmt.Errorf("harness: no MariaDB server (Debian's mariadb-server; make tools installs it): %w", ErrToolMissing)
	}
	dir, err := os.MkdirTemp("", "vigil-mariadb-")
	if err != nil {
		return nil, err
	}
	m := &MariaDB{Dir: dir, Socket: filepath.Join(dir, "sock"), Password: "harness-" + strconv.Itoa(os.Getpid())}
	if m.Port, err = scratch.FreePort(); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := exec.CommandContext(ctx, "mariadb-install-db", "--user=root", "--datadir="+data,
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("harness: mariadb-install-db: %w\n%s", err, out)
	}
	log, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return nil, err
	}
	m.server = exec.Command("/usr/sbin/mariadbd", "--no-defaults", "--user=root", "--datadir="+data, "--socket="+m.Socket,
		"--port="+strconv.Itoa(m.Port), "--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin", "--innodb-buffer-pool-size=64M")
	m.server.Stdout, m.server.Stderr = log, log
	if err := m.server.Start(); err != nil {
		return nil, fmt.Errorf("harness: mariadbd: %w", err)
	}
	m.exited = make(chan error, 1)
	go func() { m.exited <- m.server.Wait(); log.Close() }()
	for deadline := time.Now().Add(time.Minute); ; {
		if _, err = m.SQL(ctx, "SELECT 1"); err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			m.Stop()
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			return nil, fmt.Errorf("harness: mariadbd did not start: %w\n%s", err, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := m.SQL(ctx, fmt.Sprintf(`DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES;
ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '%s';`, m.Password)); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// SQL runs statements as root over the socket and returns the client's
// tab-separated output without column names.
func (m *MariaDB) SQL(ctx context.Context, sql string) (string, error) {
	out, err := exec.CommandContext(ctx, "mariadb", "--no-defaults", "-S", m.Socket, "-uroot", "-N", "-B", "-e", sql).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("harness: mariadb: %w\n%s", err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// URL is root's connection for Vault's mysql-database-plugin, with its
// placeholders.
func (m *MariaDB) URL() string {
	return fmt.Sprintf("{{username}}:{{password}}@tcp(127.0.0.1:%d)/", m.Port)
}

// Stop stops the server and removes its folder.
func (m *MariaDB) Stop() {
	interrupt(m.server, m.exited, 20*time.Second)
	os.RemoveAll(m.Dir)
}

// interrupt stops a server started with exec.Cmd, whose Wait result
// arrives on exited: SIGINT, then SIGKILL after grace.
func interrupt(cmd *exec.Cmd, exited chan error, grace time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-exited
	}
}
