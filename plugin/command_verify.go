package plugin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin/scratch"
)

var _ Verifier = (*Command)(nil)

// Bounds of a command drill's own steps.
const (
	// readyPoll is how often the ready command is tried.
	readyPoll = 250 * time.Millisecond
	// readyTimeout bounds the wait for the scratch server.
	readyTimeout = 2 * time.Minute
	// stopGrace is how long the server has to stop on SIGTERM.
	stopGrace = 10 * time.Second
	// assertOutput bounds what an assertion's output is read to.
	assertOutput = 64 << 10
)

// Verify starts the spec's scratch server in a folder of the drill's own
// (init, then start, polled with ready), restores the backup into it with
// the restore command (its env pointed at the scratch server; before start
// with restore_first, for a server that starts on the dumped file), runs each
// assert command against it, and stops the server's whole process group
// and removes its folder on every path. A failed assertion is a failed
// check; a server that does not start or a failed restore is an error.
func (c *Command) Verify(ctx context.Context, r io.Reader, v *config.Verify, opts VerifyOptions) (*VerifyResult, error) {
	if v == nil || v.Scratch == nil || v.Scratch.Server == nil {
		return nil, fmt.Errorf("command: verify %s: the spec has no scratch server: verify { scratch { start = [...] ready = [...] } }", c.name)
	}
	if opts.Log != nil {
		c.log = opts.Log
	}
	sv := v.Scratch.Server
	dir, err := os.MkdirTemp(opts.TempDir, "scratch-")
	if err != nil {
		return nil, fmt.Errorf("command: verify %s: %w", c.name, err)
	}
	defer os.RemoveAll(dir)
	port, err := scratch.FreePort()
	if err != nil {
		return nil, fmt.Errorf("command: verify %s: %w", c.name, err)
	}
	render := templater(dir, port)
	cred, err := c.runAs(sv.User, dir, opts.TempDir)
	if err != nil {
		return nil, err
	}
	// The drill's commands talk to the scratch server only: no user of
	// the database backed up.
	drill := *c
	drill.userArgs = nil
	drill.env = append([]string(nil), c.env...)
	for k, val := range sv.Env {
		val, err := render(val)
		if err != nil {
			return nil, fmt.Errorf("command: verify %s: scratch env %s: %w", c.name, k, err)
		}
		drill.env = append(drill.env, k+"="+val)
	}
	argv := func(what string, a []string) ([]string, error) {
		out := make([]string, len(a))
		for i, s := range a {
			if out[i], err = render(s); err != nil {
				return nil, fmt.Errorf("command: verify %s: %s: %w", c.name, what, err)
			}
		}
		return out, nil
	}
	if len(sv.Init) > 0 {
		a, err := argv("init", sv.Init)
		if err != nil {
			return nil, err
		}
		cmd, tail := drill.command(ctx, a, "scratch init")
		cmd.SysProcAttr.Credential = cred
		cmd.Dir = dir
		if err := drill.exitError(ctx, "scratch init", a, cmd.Run(), tail); err != nil {
			return nil, err
		}
	}
	restore := func() error {
		if err := drill.Restore(ctx, r, RestoreOptions{Out: io.Discard}); err != nil {
			return fmt.Errorf("command: verify %s: the restore into the scratch server failed: %w", c.name, err)
		}
		return nil
	}
	if sv.RestoreFirst {
		// The restore writes what the server reads as it starts.
		if err := restore(); err != nil {
			return nil, err
		}
	}
	a, err := argv("start", sv.Start)
	if err != nil {
		return nil, err
	}
	// The server lives until stop, not until ctx: it is stopped on purpose,
	// politely first.
	server, serverTail := drill.command(context.WithoutCancel(ctx), a, "scratch server")
	server.SysProcAttr.Credential = cred
	server.Dir = dir
	if err := server.Start(); err != nil {
		return nil, fmt.Errorf("command: verify %s: start %q: %w", c.name, a[0], err)
	}
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()
	defer stopGroup(server, exited)

	ready, err := argv("ready", sv.Ready)
	if err != nil {
		return nil, err
	}
	if err := drill.waitReady(ctx, ready, exited, serverTail); err != nil {
		return nil, err
	}
	if !sv.RestoreFirst {
		if err := restore(); err != nil {
			return nil, err
		}
	}
	res := &VerifyResult{Values: map[string]any{}}
	for _, as := range v.Asserts {
		a, err := argv("assert "+as.Name, as.Command)
		if err != nil {
			return nil, err
		}
		ch := drill.assert(ctx, as, a)
		res.Checks = append(res.Checks, ch)
	}
	return res, nil
}

// templater renders {{ .Dir }} and {{ .Port }}.
func templater(dir string, port int) func(string) (string, error) {
	data := struct {
		Dir  string
		Port int
	}{dir, port}
	return func(s string) (string, error) {
		if !strings.Contains(s, "{{") {
			return s, nil
		}
		t, err := template.New("").Option("missingkey=error").Parse(s)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		if err := t.Execute(&b, data); err != nil {
			return "", err
		}
		return b.String(), nil
	}
}

// runAs is the credential init and start run with when the spec names a
// user: the folder becomes theirs, and the drill's folder above it
// traversable (not readable) so they reach it.
func (c *Command) runAs(name, dir, parent string) (*syscall.Credential, error) {
	if name == "" {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("command: verify %s: scratch user: %w", c.name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, fmt.Errorf("command: verify %s: give the scratch folder to %s: %w", c.name, name, err)
	}
	if parent != "" {
		os.Chmod(parent, 0o711)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// waitReady polls the ready command until it exits 0, the server exits,
// or readyTimeout passes.
func (c *Command) waitReady(ctx context.Context, ready []string, exited chan error, serverTail *tailWriter) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		cmd, _ := c.command(ctx, ready, "scratch ready")
		cmd.Stdout = io.Discard
		if err := cmd.Run(); err == nil {
			return nil
		}
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("command: verify %s: the scratch server %q exited before it was ready (%v); its last output: %s", c.name, ready[0], err, serverTail)
		case <-ctx.Done():
			return fmt.Errorf("command: verify %s: waiting for the scratch server: %w", c.name, context.Cause(ctx))
		case <-time.After(readyPoll):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("command: verify %s: the scratch server was not ready within %s (%q never exited 0); its last output: %s", c.name, readyTimeout, ready[0], serverTail)
		}
	}
}

// assert runs one assertion and judges its output.
func (c *Command) assert(ctx context.Context, as config.CommandAssertion, argv []string) Check {
	cmd, tail := c.command(ctx, argv, "assert "+as.Name)
	var out bytes.Buffer
	cmd.Stdout = &limitedBuffer{b: &out, n: assertOutput}
	err := cmd.Run()
	got := strings.TrimSpace(out.String())
	ch := Check{Name: as.Name}
	if err != nil {
		ch.Detail = fmt.Sprintf("assert %q failed: %v", as.Name, c.exitError(ctx, "assert", argv, err, tail))
		return ch
	}
	switch {
	case as.Expect != nil:
		ch.Passed = got == *as.Expect
		ch.Detail = fmt.Sprintf("assert %q answered %q, want %q", as.Name, clip(got), *as.Expect)
	case as.Match != "":
		ch.Passed = regexp.MustCompile(as.Match).MatchString(got)
		ch.Detail = fmt.Sprintf("assert %q answered %q, want a match of %s", as.Name, clip(got), as.Match)
	case as.Min != nil:
		n, perr := strconv.ParseInt(got, 10, 64)
		ch.Passed = perr == nil && n >= *as.Min
		ch.Detail = fmt.Sprintf("assert %q answered %q, want a number of at least %d", as.Name, clip(got), *as.Min)
	}
	return ch
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// stopGroup stops a scratch server's process group: SIGTERM, then SIGKILL
// after stopGrace.
func stopGroup(cmd *exec.Cmd, exited chan error) {
	pgid := -cmd.Process.Pid
	syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(stopGrace):
		syscall.Kill(pgid, syscall.SIGKILL)
		<-exited
	}
	syscall.Kill(pgid, syscall.SIGKILL) // anything the server left behind
}

// limitedBuffer keeps the first n bytes written and drops the rest.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
