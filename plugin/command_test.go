package plugin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
)

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

func dump(t *testing.T, src config.CommandSource, sec *Secrets, opts SnapshotOptions) (string, error) {
	t.Helper()
	c, err := NewCommand("db", src, "", sec)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, err = c.Snapshot(context.Background(), &out, opts)
	return out.String(), err
}

// TestCommandExitStatusDecides: a dump is good only when it exits 0 and
// wrote something; every other ending is an error that names the program,
// how it ended and its last stderr, whatever it wrote before.
func TestCommandExitStatusDecides(t *testing.T) {
	out, err := dump(t, config.CommandSource{Dump: sh("printf hello; echo 'a note' >&2")}, nil, SnapshotOptions{})
	if err != nil || out != "hello" {
		t.Fatalf("a good dump: %q %v", out, err)
	}
	for _, c := range []struct {
		name, script string
		timeout      time.Duration
		want         []string
	}{
		{"exit 1 after output", "head -c 3000000 /dev/zero; echo 'pg_dump: error: connection lost' >&2; exit 1", 0,
			[]string{`"/bin/sh" exited with status 1`, "connection lost", "after 3000000 bytes"}},
		{"killed", "echo data; echo dying >&2; kill -9 $$", 0, []string{"was killed by signal killed", "dying"}},
		{"hangs", "echo started; sleep 60", 300 * time.Millisecond, []string{"did not finish within its timeout (300ms) and was killed"}},
		{"missing program", "exec /nonexistent/pg_dump", 0, []string{"exited with status 127", "not found"}},
	} {
		_, err := dump(t, config.CommandSource{Dump: sh(c.script), Timeout: c.timeout}, nil, SnapshotOptions{})
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: want an error with %q, got %v", c.name, w, err)
			}
		}
	}
	if _, err := dump(t, config.CommandSource{Dump: []string{"true"}}, nil, SnapshotOptions{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("an empty dump: %v", err)
	}
	if _, err := dump(t, config.CommandSource{Dump: []string{"true"}}, nil, SnapshotOptions{AllowEmpty: true}); err != nil {
		t.Errorf("an empty dump with allow_empty: %v", err)
	}
}

// A failed upload stops the dump and every process it started.
func TestCommandStopsOnWriteError(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	c, _ := NewCommand("db", config.CommandSource{Dump: sh("sleep 60 & echo $! > " + pidFile + "; yes")}, "", nil)
	_, err := c.Snapshot(context.Background(), failAfter{n: 1 << 20}, SnapshotOptions{})
	if err == nil || !strings.Contains(err.Error(), "upload broke") {
		t.Fatalf("dump into a failing writer: %v", err)
	}
	raw, _ := os.ReadFile(pidFile)
	if pid := strings.TrimSpace(string(raw)); pid == "" {
		t.Fatal("the dump's child wrote no pid")
	} else if !gone(pid) {
		st, _ := os.ReadFile("/proc/" + pid + "/stat")
		t.Errorf("the dump's child %s still runs: %s", pid, st)
	}
}

type failAfter struct{ n int }

func (f failAfter) Write(p []byte) (int, error) { return 0, errors.New("upload broke") }

// The run's database user reaches the commands through the variables the
// spec names, -to replaces the spec's settings for a restore, and a
// restore's exit status decides.
func TestCommandEnvAndRestore(t *testing.T) {
	src := config.CommandSource{Dump: sh(`printf '%s:%s:%s' "$PGHOST" "$PGUSER" "$PGPASSWORD"`), Env: map[string]string{"PGHOST": "db1"}}
	out, err := dump(t, src, &Secrets{Env: map[string]string{"PGUSER": "v-run-1", "PGPASSWORD": "s3cret"}}, SnapshotOptions{})
	if err != nil || out != "db1:v-run-1:s3cret" {
		t.Fatalf("env: %q %v", out, err)
	}
	// A tool that reads its user from an option (mariadb-dump, redis-cli)
	// gets it right after its name; the password stays in a variable.
	out, err = dump(t, config.CommandSource{Dump: []string{"echo", "--rdb", "-"}},
		&Secrets{Env: map[string]string{"REDISCLI_AUTH": "s3cret"}, UserArgs: []string{"--user", "v-run-2"}}, SnapshotOptions{})
	if err != nil || out != "--user v-run-2 --rdb -\n" {
		t.Fatalf("user option: %q %v", out, err)
	}
	dir := t.TempDir()
	got := filepath.Join(dir, "restored")
	src.Restore = sh(`cat > ` + got + `; printf '%s' "$PGHOST" > ` + got + `.host`)
	c, err := NewCommand("db", src, "PGHOST=db2,PGPORT=5433", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Restore(context.Background(), strings.NewReader("the backup"), RestoreOptions{Out: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(got); string(b) != "the backup" {
		t.Errorf("restored %q", b)
	}
	if b, _ := os.ReadFile(got + ".host"); string(b) != "db2" {
		t.Errorf("-to's PGHOST: %q", b)
	}
	src.Restore = sh("cat >/dev/null; echo 'pg_restore: error: relation exists' >&2; exit 1")
	c, _ = NewCommand("db", src, "", nil)
	if err := c.Restore(context.Background(), strings.NewReader("x"), RestoreOptions{}); err == nil || !strings.Contains(err.Error(), "exited with status 1") || !strings.Contains(err.Error(), "relation exists") {
		t.Errorf("a failing restore: %v", err)
	}
	if _, err := NewCommand("db", src, "db2", nil); err == nil || !strings.Contains(err.Error(), "NAME=VALUE") {
		t.Errorf("-to without NAME=VALUE: %v", err)
	}
	src.Restore = nil
	c, _ = NewCommand("db", src, "", nil)
	if err := c.Restore(context.Background(), strings.NewReader("x"), RestoreOptions{}); err == nil || !strings.Contains(err.Error(), "no restore command") {
		t.Errorf("no restore argv: %v", err)
	}
}

// gone reports whether process pid has died (or is a zombie), waiting a
// little: a SIGKILL is delivered asynchronously.
func gone(pid string) bool {
	for i := 0; i < 50; i++ {
		st, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(st), ") Z") {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// A good dump's background children do not outlive it.
func TestCommandLeavesNoChildren(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child")
	out, err := dump(t, config.CommandSource{Dump: sh("sleep 60 >/dev/null 2>&1 & echo $! > " + pidFile + "; printf data")}, nil, SnapshotOptions{})
	if err != nil || out != "data" {
		t.Fatalf("dump: %q %v", out, err)
	}
	raw, _ := os.ReadFile(pidFile)
	if pid := strings.TrimSpace(string(raw)); pid == "" || !gone(pid) {
		t.Errorf("the dump's background child %q outlived it", pid)
	}
}
