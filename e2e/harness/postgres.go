package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigil-backup/vigil/plugin/scratch"
)

// Postgres is a PostgreSQL server from Debian's packages, run directly
// (no system service) as the postgres user, as the server refuses root.
// Its superuser logs in over the unix socket without a password (the
// harness, psql); over TCP every login needs its password (scram), so a
// database user from Vault is really checked.
type Postgres struct {
	Dir, Socket string
	Port        int
	// Password is the superuser's, for Vault's database engine.
	Password string
	bin      string
}

// PostgresBin is the folder of Debian's PostgreSQL server binaries, or
// an error naming the package.
func PostgresBin() (string, error) {
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(m) == 0 {
		return "", fmt.Errorf("harness: no PostgreSQL server (Debian's postgresql; make tools installs it): %w", ErrToolMissing)
	}
	return filepath.Dir(m[len(m)-1]), nil
}

// StartPostgres initialises a cluster in a new folder and starts it on a
// free port of 127.0.0.1.
func StartPostgres(ctx context.Context) (*Postgres, error) {
	bin, err := PostgresBin()
	if err != nil {
		return nil, err
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("harness: postgres: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("", "vigil-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{Dir: dir, Socket: filepath.Join(dir, "sock"), Password: "harness-" + strconv.Itoa(os.Getpid()), bin: bin}
	for _, d := range []string{dir, p.Socket, filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return nil, err
		}
	}
	if p.Port, err = scratch.FreePort(); err != nil {
		return nil, err
	}
	if err := p.asPostgres(ctx, "initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256"); err != nil {
		return nil, err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", p.Port, p.Socket)
	if err := p.asPostgres(ctx, "pg_ctl", "-D", filepath.Join(dir, "data"), "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "start"); err != nil {
		return nil, err
	}
	if _, err := p.SQL(ctx, fmt.Sprintf("ALTER USER postgres PASSWORD '%s'", p.Password)); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func (p *Postgres) asPostgres(ctx context.Context, prog string, args ...string) error {
	out, err := exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, prog)}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("harness: postgres %s: %w\n%s", prog, err, out)
	}
	return nil
}

// SQL runs statements as the superuser over the socket and returns psql's
// unaligned output.
func (p *Postgres) SQL(ctx context.Context, sql string) (string, error) {
	out, err := exec.CommandContext(ctx, "psql", "-h", p.Socket, "-p", strconv.Itoa(p.Port), "-U", "postgres", "-d", "postgres",
		"-v", "ON_ERROR_STOP=1", "-At", "-c", sql).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("harness: psql: %w\n%s", err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// URL is the superuser's connection URL over TCP, with placeholders for
// Vault's database engine.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgresql://{{username}}:{{password}}@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
}

// Stop stops the server and removes its folder.
func (p *Postgres) Stop() {
	p.asPostgres(context.Background(), "pg_ctl", "-D", filepath.Join(p.Dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(p.Dir)
}
