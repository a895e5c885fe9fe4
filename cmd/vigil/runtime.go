package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/mattn/go-isatty"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks"
	"github.com/vigil-backup/vigil/tasks/creds"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store"
)

// runtimeFlags are shared by the commands that act on backups (run,
// restore, list, prune, verify): where the config is, which backup, logging.
type runtimeFlags struct {
	spec     specFlags
	config   string
	backup   string
	logLevel string
	logJSON  bool
}

func (r *runtimeFlags) register(fs *flag.FlagSet) {
	r.spec.register(fs)
	fs.StringVar(&r.config, "config", "", "")
	fs.StringVar(&r.backup, "backup", "", "")
	fs.StringVar(&r.logLevel, "log-level", "info", "")
	fs.BoolVar(&r.logJSON, "log-json", false, "")
}

const runtimeFlagsHelp = `Backup Options:

  -backup NAME
    The backup to act on. Required.

  -config PATH
    A spec directory or file, or the JSON config a compiled job embeds.
    Default: $NOMAD_TASK_DIR/vigil.json inside a Nomad task, else ".".

  -log-level=info
    trace, debug, info, warn or error.

  -log-json
    Log JSON lines (the default inside a Nomad allocation).

` + specFlagsHelp

// inNomad reports whether vigil runs inside a Nomad allocation.
func inNomad() bool { return os.Getenv("NOMAD_ALLOC_ID") != "" }

func (r *runtimeFlags) configPath() string {
	if r.config != "" {
		return r.config
	}
	if dir := os.Getenv("NOMAD_TASK_DIR"); dir != "" {
		p := filepath.Join(dir, "vigil.json")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "."
}

// load reads the config (JSON or HCL) and picks the backup.
func (m *Meta) load(r *runtimeFlags) (*config.Config, *config.Backup, bool) {
	if r.backup == "" {
		m.errorf("-backup NAME is required")
		return nil, nil, false
	}
	cfg, ok := m.loadAll(r)
	if !ok {
		return nil, nil, false
	}
	b, err := cfg.Backup(r.backup)
	if err != nil {
		m.errorf("%v", err)
		return nil, nil, false
	}
	return cfg, b, true
}

// loadAll reads the whole config (JSON or HCL), for commands that act on
// every backup.
func (m *Meta) loadAll(r *runtimeFlags) (*config.Config, bool) {
	path := r.configPath()
	if strings.HasSuffix(path, ".json") {
		cfg, err := config.ReadJSONFile(path)
		if err != nil {
			m.errorf("%v", err)
			return nil, false
		}
		return cfg, true
	}
	cfg := m.loadSpec(path, r.spec)
	return cfg, cfg != nil
}

func (m *Meta) logger(r *runtimeFlags) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "vigil",
		Level:      hclog.LevelFromString(r.logLevel),
		JSONFormat: r.logJSON || inNomad(),
		Output:     m.Stderr,
	})
}

// prepare parses a backup command's flags, loads its config and connects
// its clients; it prints what goes wrong.
func (m *Meta) prepare(fs *flag.FlagSet, rf *runtimeFlags, args []string) (*config.Config, *config.Backup, *tasks.Deps, bool) {
	if err := fs.Parse(args); err != nil {
		return nil, nil, nil, false
	}
	cfg, b, ok := m.load(rf)
	if !ok {
		return nil, nil, nil, false
	}
	d, ok := m.deps(cfg, rf)
	if ok {
		d.FanOut = growMemoryLimit
	}
	return cfg, b, d, ok
}

// openStore opens a backup's store for a command; close the session after.
func (m *Meta) openStore(ctx context.Context, d *tasks.Deps, b *config.Backup, cmd string) (store.Store, *creds.Session, bool) {
	s, sess, err := d.OpenStore(ctx, b)
	if err != nil {
		m.errorf("vigil: %s %s: %v", cmd, b.Name, err)
		return nil, nil, false
	}
	return s, sess, true
}

// deps connects to the control Consul and Vault.
func (m *Meta) deps(cfg *config.Config, r *runtimeFlags) (*tasks.Deps, bool) {
	d, err := tasks.NewDeps(cfg, m.logger(r), version)
	if err != nil {
		m.errorf("%v", err)
		return nil, false
	}
	return d, true
}

// defaultMemoryLimit is the soft memory limit of commands that stream
// backups. A snapshot stream allocates garbage at the rate of the transfer
// (etcd's client decodes every chunk into a new buffer), and with Go's
// default GC the heap would grow to twice the live set; the limit makes the
// GC run sooner instead. GOMEMLIMIT overrides it.
const defaultMemoryLimit = 36 << 20

func applyMemoryLimit() { memoryLimit(defaultMemoryLimit) }

// serveMemoryLimit is vigil serve's soft memory limit: it runs for weeks
// beside the fleet's records, and a long-lived process with the short
// commands' lazy GC would hold several times its live set.
const serveMemoryLimit = 64 << 20

// growMemoryLimit raises the streaming commands' soft limit by extra, the
// buffers a fan-out's further stores hold (tasks.Deps.FanOut): under a
// limit the buffers alone come near, the GC runs without pause and takes
// a core from the stream. GOMEMLIMIT, when set, stays as given.
func growMemoryLimit(extra int64) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit + extra)
	}
}

// memoryLimit sets Go's default GC and a soft memory limit, unless GOGC
// or GOMEMLIMIT say otherwise, and gives back the pages only start-up
// needed (releaseStartupPages).
func memoryLimit(limit int64) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(100)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(limit)
	}
	releaseStartupPages()
}

// signalContext ends on SIGINT or SIGTERM (Nomad stopping the task), so a
// run aborts its upload, records the failure and releases what it holds.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// startRun is the prologue of the commands that stream a backup and leave
// a record (run, verify): the memory limit, a context that ends on a
// signal, and the telemetry sink each finished run is reported to. The
// returned func releases both.
func (m *Meta) startRun(cfg *config.Config) (context.Context, *tasks.Telemetry, func(), bool) {
	applyMemoryLimit()
	tel, err := tasks.NewTelemetry(cfg.Telemetry, false)
	if err != nil {
		m.errorf("vigil: %v", err)
		return nil, nil, nil, false
	}
	ctx, stop := signalContext()
	return ctx, tel, func() { stop(); tel.Close() }, true
}

// stdoutIsTerminal says whether output is read by a person.
func (m *Meta) stdoutIsTerminal() bool {
	f, ok := m.Stdout.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// progressOut is stderr when it is a terminal and vigil is not under Nomad.
func (m *Meta) progressOut() *os.File {
	if f, ok := m.Stderr.(*os.File); ok && !inNomad() && isatty.IsTerminal(f.Fd()) {
		return f
	}
	return nil
}

// recordsBeside opens the storage of each of backups, where a standalone
// configuration keeps its run records beside the backups; closeAll ends
// the storage sessions.
func (m *Meta) recordsBeside(ctx context.Context, cfg *config.Config, backups []config.Backup, rf *runtimeFlags, cmd string) (book record.Routed, closeAll func(), ok bool) {
	d, ok := m.deps(cfg, rf)
	if !ok {
		return nil, nil, false
	}
	book = record.Routed{}
	var sessions []*creds.Session
	closeAll = func() {
		for _, s := range sessions {
			s.Close(context.WithoutCancel(ctx))
		}
	}
	for i := range backups {
		b := &backups[i]
		s, sess, ok := m.openStore(ctx, d, b, cmd)
		if !ok {
			closeAll()
			return nil, nil, false
		}
		sessions = append(sessions, sess)
		book[b.Name] = &record.Store{S: s}
	}
	return book, closeAll, true
}
