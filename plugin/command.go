package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
)

// Command backs up any data store through the spec's dump command, whose
// stdout is the backup, and restores it through the restore command,
// which reads it on stdin. The exit status decides: a dump that exits
// non-zero, is killed, outlives its timeout or writes nothing (unless
// allow_empty) fails the run, however many bytes it wrote, so the
// pipeline never writes a manifest for it.
type Command struct {
	name string
	src  config.CommandSource
	// env is what the commands get beside vigil's own environment: the
	// spec's settings, then -to's, then the run's secrets (which no
	// error, log line or argv ever carries).
	env []string
	// userArgs name the run's database user (--user NAME), put right
	// after the program's name.
	userArgs []string
	log      hclog.Logger
}

var _ Target = (*Command)(nil)

// errCommandTimeout is the cause of a command's context when its timeout
// passes.
var errCommandTimeout = errors.New("timed out")

// stderrTail is how much of a command's stderr an error quotes, and
// stderrLogLines how many of its lines the run's log gets.
const (
	stderrTail     = 2048
	stderrLogLines = 200
	// waitDelay is how long a killed command's pipes may stay open.
	waitDelay = 10 * time.Second
)

// NewCommand is the target of a command backup. to, for a restore, is a
// comma-separated list of NAME=VALUE settings that replace the spec's env
// (the restore's own address: PGHOST=db2,PGPORT=5433); sec holds the
// run's database user.
func NewCommand(name string, src config.CommandSource, to string, sec *Secrets) (*Command, error) {
	c := &Command{name: name, src: src, log: hclog.NewNullLogger()}
	env := map[string]string{}
	for k, v := range src.Env {
		env[k] = v
	}
	if to != "" {
		for _, kv := range strings.Split(to, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("command: restore %s: -to %q: a command backup's -to is NAME=VALUE[,NAME=VALUE], the settings its restore command reads (PGHOST=db2,PGPORT=5433)", name, to)
			}
			env[k] = v
		}
	}
	if sec != nil {
		for k, v := range sec.Env {
			env[k] = v
		}
		c.userArgs = sec.UserArgs
	}
	for k, v := range env {
		c.env = append(c.env, k+"="+v)
	}
	return c, nil
}

// Snapshot runs the dump with its stdout streamed to w.
func (c *Command) Snapshot(ctx context.Context, w io.Writer, opts SnapshotOptions) (Source, error) {
	if opts.Log != nil {
		c.log = opts.Log
	}
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	cmd, tail := c.command(ctx, c.withUser(c.src.Dump), "dump")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("command: dump %s: %w", c.name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("command: dump %s: start %q: %w", c.name, c.src.Dump[0], err)
	}
	defer killGroup(cmd) // nothing the dump started outlives it
	n, copyErr := io.Copy(w, out)
	if copyErr != nil {
		cancel() // the upload failed: stop the dump and its children
	}
	waitErr := cmd.Wait()
	if copyErr != nil {
		return nil, fmt.Errorf("command: dump %s: after %d bytes: %w", c.name, n, copyErr)
	}
	if err := c.exitError(ctx, "dump", c.src.Dump, waitErr, tail); err != nil {
		return nil, fmt.Errorf("%w (after %d bytes; nothing of this run is kept)", err, n)
	}
	if n == 0 && !opts.AllowEmpty {
		return nil, fmt.Errorf("command: dump %s: %q wrote nothing: %w", c.name, c.src.Dump[0], ErrEmpty)
	}
	return Source{"program": c.src.Dump[0], "exit_status": "0"}, nil
}

// Restore runs the restore with the backup on its stdin. It must read the
// whole backup and exit 0.
func (c *Command) Restore(ctx context.Context, r io.Reader, opts RestoreOptions) error {
	if len(c.src.Restore) == 0 {
		return fmt.Errorf("command: restore %s: the spec has no restore command: add command { restore = [...] }", c.name)
	}
	if opts.Log != nil {
		c.log = opts.Log
	}
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	cmd, tail := c.command(ctx, c.withUser(c.src.Restore), "restore")
	in, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("command: restore %s: %w", c.name, err)
	}
	if opts.Out != nil {
		cmd.Stdout = opts.Out
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("command: restore %s: start %q: %w", c.name, c.src.Restore[0], err)
	}
	defer killGroup(cmd)
	n, copyErr := io.Copy(in, r)
	in.Close()
	waitErr := cmd.Wait()
	if err := c.exitError(ctx, "restore", c.src.Restore, waitErr, tail); err != nil {
		return err
	}
	if copyErr != nil {
		// The restore exited 0 but did not take the whole backup, or the
		// backup failed its checks on the way: either way not restored.
		return fmt.Errorf("command: restore %s: after %d bytes: %w", c.name, n, copyErr)
	}
	return nil
}

func (c *Command) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.src.Timeout > 0 {
		return context.WithTimeoutCause(ctx, c.src.Timeout, errCommandTimeout)
	}
	return context.WithCancel(ctx)
}

// command prepares argv in its own process group, killed whole when ctx
// ends (timeout, a lost lock, the run stopped), with its stderr logged
// line by line (bounded) and its tail kept for the error.
func (c *Command) command(ctx context.Context, argv []string, what string) (*exec.Cmd, *tailWriter) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	tail := &tailWriter{log: c.log.With("command", what, "program", argv[0])}
	cmd.Stderr = tail
	return cmd, tail
}

// withUser puts the run's user options right after the program's name.
func (c *Command) withUser(argv []string) []string {
	if len(c.userArgs) == 0 {
		return argv
	}
	return slices.Concat(argv[:1], c.userArgs, argv[1:])
}

// killGroup kills what is left of a finished command's process group:
// the background children a dump or restore left behind.
func killGroup(cmd *exec.Cmd) { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

// exitError says why a command failed, or nil when it exited 0.
func (c *Command) exitError(ctx context.Context, what string, argv []string, err error, tail *tailWriter) error {
	if err == nil {
		return nil
	}
	var why string
	var ee *exec.ExitError
	switch {
	case errors.Is(context.Cause(ctx), errCommandTimeout):
		why = fmt.Sprintf("did not finish within its timeout (%s) and was killed", c.src.Timeout)
	case ctx.Err() != nil:
		why = "was stopped: " + context.Cause(ctx).Error()
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			why = "was killed by signal " + ws.Signal().String()
		} else {
			why = fmt.Sprintf("exited with status %d", ee.ExitCode())
		}
	default:
		why = err.Error()
	}
	msg := fmt.Sprintf("command: %s %s: %q %s", what, c.name, argv[0], why)
	if t := tail.String(); t != "" {
		msg += "; its last output: " + t
	}
	return errors.New(msg)
}

// tailWriter logs a command's stderr line by line, up to stderrLogLines,
// and keeps its last stderrTail bytes.
type tailWriter struct {
	mu      sync.Mutex // a running server's tail is read while it writes
	log     hclog.Logger
	partial []byte
	last    []byte
	lines   int
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = append(t.last, p...)
	if len(t.last) > stderrTail {
		t.last = t.last[len(t.last)-stderrTail:]
	}
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		t.lines++
		switch {
		case t.lines <= stderrLogLines:
			t.log.Info(string(t.partial[:i]))
		case t.lines == stderrLogLines+1:
			t.log.Info("(further lines are not logged)")
		}
		t.partial = t.partial[i+1:]
	}
	if len(t.partial) > stderrTail {
		t.partial = t.partial[len(t.partial)-stderrTail:]
	}
	return len(p), nil
}

// String is the kept tail, on one line.
func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(t.last), "?")), " ")
}
