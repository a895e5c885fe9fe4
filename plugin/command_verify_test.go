package plugin

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-backup/vigil/hcl/config"
)

// TestCommandDrill: the scratch server starts in the drill's own folder
// on a free port ({{ .Dir }}, {{ .Port }}), the backup is restored into
// it, each assertion is judged (a wrong answer is a failed check, not an
// error), and the server's process group and folder are gone afterwards.
func TestCommandDrill(t *testing.T) {
	want := "the backup"
	atLeast, tooMany := int64(5), int64(1000)
	v := &config.Verify{
		Scratch: &config.Scratch{Server: &config.ScratchServer{
			Init:  sh("mkdir {{ .Dir }}/data"),
			Start: sh("echo $$ > {{ .Dir }}/data/pid; echo {{ .Port }} > {{ .Dir }}/data/port; exec sleep 300"),
			Ready: []string{"test", "-s", "{{ .Dir }}/data/port"},
			Env:   map[string]string{"SCRATCH": "{{ .Dir }}/data"},
		}},
		Asserts: []config.CommandAssertion{
			{Name: "content", Command: sh("cat $SCRATCH/restored"), Expect: &want},
			{Name: "size", Command: sh("wc -c < $SCRATCH/restored"), Min: &atLeast},
			{Name: "pid", Command: sh("cat $SCRATCH/pid; echo; echo $SCRATCH"), Match: `^[0-9]+\s`},
			{Name: "port", Command: []string{"cat", "{{ .Dir }}/data/port"}, Match: `^[0-9]+$`},
			{Name: "too small", Command: sh("wc -c < $SCRATCH/restored"), Min: &tooMany},
			{Name: "fails", Command: sh("echo 'ERROR: relation does not exist' >&2; exit 2"), Expect: &want},
		},
	}
	c, _ := NewCommand("db", config.CommandSource{Dump: []string{"true"}, Restore: sh("cat > $SCRATCH/restored")}, "", nil)
	res, err := c.Verify(context.Background(), strings.NewReader(want), v, VerifyOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	passed := map[string]bool{}
	var pidDetail string
	for _, ch := range res.Checks {
		passed[ch.Name] = ch.Passed
		if ch.Name == "pid" {
			pidDetail = ch.Detail
		}
	}
	for name, want := range map[string]bool{"content": true, "size": true, "pid": true, "port": true, "too small": false, "fails": false} {
		if passed[name] != want {
			t.Errorf("check %s passed=%v, want %v: %+v", name, passed[name], want, res.Checks)
		}
	}
	if f := res.Failed(); len(f) != 2 || !strings.Contains(f[1].Detail, "exited with status 2") || !strings.Contains(f[1].Detail, "relation does not exist") {
		t.Errorf("failed checks: %+v", f)
	}
	m := regexp.MustCompile(`"(\d+)\\n(\S+)"`).FindStringSubmatch(pidDetail)
	if m == nil {
		t.Fatalf("pid check: %s", pidDetail)
	}
	if !gone(m[1]) {
		t.Errorf("the scratch server %s still runs", m[1])
	}
	if _, err := os.Stat(m[2]); !os.IsNotExist(err) {
		t.Errorf("the scratch folder %s is still there: %v", m[2], err)
	}
}

// A server that dies before it is ready, and a restore that fails, are
// errors of the drill, naming what happened.
func TestCommandDrillErrors(t *testing.T) {
	one := int64(1)
	v := &config.Verify{
		Scratch: &config.Scratch{Server: &config.ScratchServer{
			Start: sh("echo 'FATAL: data directory has wrong ownership' >&2; exit 1"),
			Ready: []string{"false"},
		}},
		Asserts: []config.CommandAssertion{{Name: "n", Command: []string{"echo", "1"}, Min: &one}},
	}
	c, _ := NewCommand("db", config.CommandSource{Dump: []string{"true"}, Restore: []string{"true"}}, "", nil)
	_, err := c.Verify(context.Background(), strings.NewReader("x"), v, VerifyOptions{TempDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "wrong ownership") {
		t.Errorf("a server that dies: %v", err)
	}
	v.Scratch.Server.Start, v.Scratch.Server.Ready = sh("exec sleep 300"), []string{"true"}
	c, _ = NewCommand("db", config.CommandSource{Dump: []string{"true"}, Restore: sh("cat >/dev/null; exit 4")}, "", nil)
	_, err = c.Verify(context.Background(), strings.NewReader("x"), v, VerifyOptions{TempDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "restore into the scratch server failed") || !strings.Contains(err.Error(), "status 4") {
		t.Errorf("a failed restore: %v", err)
	}
}

// With restore_first the backup is restored before the server starts,
// for servers that start on the dumped file (Redis's RDB): the server
// finds it as it starts.
func TestCommandDrillRestoresFirst(t *testing.T) {
	want := "the rdb"
	v := &config.Verify{
		Scratch: &config.Scratch{Server: &config.ScratchServer{
			RestoreFirst: true,
			Start:        sh("cp {{ .Dir }}/dump.rdb {{ .Dir }}/loaded && exec sleep 300"),
			Ready:        []string{"test", "-s", "{{ .Dir }}/loaded"},
			Env:          map[string]string{"RDB": "{{ .Dir }}/dump.rdb"},
		}},
		Asserts: []config.CommandAssertion{{Name: "loaded", Command: []string{"cat", "{{ .Dir }}/loaded"}, Expect: &want}},
	}
	c, _ := NewCommand("cache", config.CommandSource{Dump: []string{"true"}, Restore: sh("cat > $RDB")}, "", nil)
	res, err := c.Verify(context.Background(), strings.NewReader(want), v, VerifyOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Checks) != 1 || !res.Checks[0].Passed {
		t.Errorf("the server did not start on the restored file: %+v", res.Checks)
	}
}
