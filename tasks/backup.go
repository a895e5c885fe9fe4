package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/creds"
	"github.com/vigil-backup/vigil/tasks/lock"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store"
)

var (
	errTimeout  = errors.New("the run exceeded its timeout")
	errLockLost = errors.New("the lock was lost; the run stopped")
)

// cleanupTimeout bounds each piece of the work done after a run ends
// (record, release, revoke), from when that piece starts, on a context the
// run's cancellation does not reach (afterRun), so a cancelled run still
// cleans up. Counted from the run's start instead, as it once was, it left
// a backup longer than itself no time: no record, the lock left held.
// A variable so a test can shorten it.
var cleanupTimeout = 30 * time.Second

// afterRun is the context of the work after a run ends: not cancelled with
// the run, and without a deadline of its own; each piece takes cleanupTimeout
// through bounded.
func afterRun(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// bounded gives one piece of the work after a run its cleanupTimeout.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, cleanupTimeout)
}

// RunOptions tune a backup run.
type RunOptions struct {
	// Drill makes the run drill the backup it wrote (vigil run -verify;
	// jobs of backups with verify { after_backup = true }).
	Drill bool
}

// Run performs one backup run: the lock, credentials, the snapshot
// streamed and proven whole, the manifest. Then come the stages after the
// backup, in this order: the drill (with o.Drill), and retention, which
// runs only when there was no drill or it passed, so history is never
// thinned for copies of a state that failed its drill.
//
// The error is non-nil exactly when the backup failed. A skipped run is
// not an error; neither is a failed drill or retention pass after a
// written backup: the run is recorded as DrillFailed or RetentionFailed
// with that stage's error, and exits well, so Nomad never takes the backup
// again for a stage after it.
func Run(ctx context.Context, d *Deps, b *config.Backup, o RunOptions) (*record.Run, error) {
	start := d.Now().UTC()
	me := lock.Me(start)
	run := &record.Run{
		Backup: b.Name, Kind: record.KindBackup, ID: manifest.NewID(start), StartedAt: start,
		AllocID: me.AllocID, Node: me.Node, Compression: b.Compression,
	}
	log := d.Log.With("backup", b.Name, "run", run.ID)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	cleanup := afterRun(ctx)
	// The backup itself (lock wait, credentials, stream, manifest) has the
	// backup's timeout; the stages after it have their own.
	bctx, cancelTimeout := context.WithTimeoutCause(ctx, b.Timeout, errTimeout)
	defer cancelTimeout()

	// Standalone against a remote store the lock lives in the store (S3's
	// conditional writes), so the store opens first; with a control Consul
	// the lock comes first, so a skipped run takes no credentials.
	var s store.Store
	var sess *creds.Session
	defer func() { closeSession(cleanup, sess, log) }()
	storeFirst := d.Locker == nil && b.Storage.Kind != config.StorageLocal
	if storeFirst {
		var err error
		if s, sess, err = d.OpenStore(bctx, b); err != nil {
			return failEarly(cleanup, d, run, err, log)
		}
	}
	locker, err := d.locker(b, s)
	if err != nil {
		return failEarly(cleanup, d, run, err, log)
	}
	lease, err := locker.Acquire(bctx, b.Lock.Key, me, b.Lock.TTL, b.Lock.Wait)
	if held, ok := lock.IsHeld(err); ok {
		run.Status, run.Holder = record.Skipped, held.Holder
		run.Error = held.Error()
		log.Info("skipped: another run holds the lock", "lock", b.Lock.Key, "holder", fmt.Sprint(held.Holder))
		d.recordSkip(cleanup, bctx, b, s, run, log)
		return run, nil
	}
	if err != nil {
		return failEarly(cleanup, d, run, err, log)
	}
	defer func() {
		rctx, cancel := bounded(cleanup)
		defer cancel()
		if err := lease.Release(rctx); err != nil {
			log.Warn("releasing the lock failed; it frees when its TTL ends", "error", err)
		}
	}()
	// A run starts when it holds the lock: its interval never overlaps
	// another run's.
	run.StartedAt = d.Now().UTC()
	run.ID = manifest.NewID(run.StartedAt)
	log = d.Log.With("backup", b.Name, "run", run.ID)
	go func() {
		select {
		case <-lease.Lost():
			cancel(fmt.Errorf("%w: %v", errLockLost, lease.Why()))
		case <-ctx.Done():
		}
	}()

	if !storeFirst {
		if s, sess, err = d.OpenStore(bctx, b); err != nil {
			return failEarly(cleanup, d, run, err, log)
		}
	}
	until := run.StartedAt.Add(b.Timeout)
	if o.Drill && b.Verify != nil {
		until = until.Add(b.Verify.MaxDuration)
	}
	if err := sess.CheckLasts(until); err != nil {
		return failEarly(cleanup, d, run, err, log)
	}
	ds := d.openDests(bctx, b, s, sess)
	defer closeDests(cleanup, ds, log)
	book := d.book(s)
	d.closeDeadRun(bctx, book, ds, b, run.StartedAt, log)
	run.Status = record.Running
	if err := book.Start(bctx, *run); err != nil {
		return d.finish(cleanup, book, run, err, log)
	}
	log.Info("backup started", "store", s.String(), "lock", b.Lock.Key)

	t, tsess, err := d.OpenTarget(bctx, b, until.Sub(d.Now()))
	defer func() { closeSession(cleanup, tsess, log) }()
	if err == nil {
		err = tsess.CheckLasts(until)
	}
	if err != nil {
		return d.finish(cleanup, book, run, err, log)
	}
	// A drill this run makes itself decrypts with the data key the run
	// made: the backup job's identity may not unwrap data keys.
	var ownKey []byte
	defer func() { clear(ownKey) }()
	var keep *[]byte
	if o.Drill {
		keep = &ownKey
	}
	m, err := takeBackup(bctx, d, b, t, ds, run, keep)
	recordCopies(run, ds)
	if err != nil {
		return d.finish(cleanup, book, run, cause(bctx, err), log)
	}
	cancelTimeout()
	run.Object, run.Size, run.SHA256, run.CRC32C, run.Source = m.Object, m.Size, m.SHA256, m.CRC32C, m.Source
	log.Info("backup written", "object", m.Object, "bytes", m.Size, "checksum", m.Checksum())
	if run.Status == record.Partial {
		log.Error("some destinations hold no copy of this backup", "error", run.Error)
	}
	d.afterBackup(ctx, b, t, ds, book, run, o, ownKey, log)
	return d.finish(cleanup, book, run, nil, log)
}

// retentionTimeout bounds a retention pass after a backup.
const retentionTimeout = 15 * time.Minute

// afterBackup runs the stages after a written backup: the drill (of the
// first good copy), then retention in each destination holding a good
// copy when the drill passed. A failure sets the run's status to what
// failed, unless the run is Partial already; the backup stands either way.
func (d *Deps) afterBackup(ctx context.Context, b *config.Backup, t plugin.Target, ds []*dest, book record.Book, run *record.Run, o RunOptions, ownKey []byte, log hclog.Logger) {
	if o.Drill {
		g := firstGood(ds)
		vrun, err := d.verifyIn(ctx, g.b, g.s, book, VerifyOptions{ID: run.ID, DataKey: ownKey})
		run.Drill = &record.Drill{RunID: vrun.ID, Passed: err == nil}
		if err != nil {
			run.Drill.Error = err.Error()
			run.Status, run.Error = record.DrillFailed, joinLines("the backup was written, but its drill failed: "+err.Error(), partialNote(run))
			log.Error("the drill of this backup failed; retention is skipped so no history is thinned for it", "error", err)
			return
		}
	}
	rctx, cancel := context.WithTimeout(ctx, retentionTimeout)
	defer cancel()
	repo, _ := t.(plugin.Repository)
	sigs, _ := d.Signatures(b)
	var failed []string
	for i, x := range ds {
		if x.m == nil || x.err != nil {
			continue // never thin history where this run's copy is missing
		}
		ret, err := Prune(rctx, x.s, x.b, sigs, d.Now(), run.StartedAt, repo)
		if i < len(run.Copies) {
			run.Copies[i].Retention = ret
		}
		if run.Retention == nil {
			run.Retention = ret
		}
		if err != nil {
			failed = append(failed, x.name()+": "+cause(ctx, err).Error())
			log.Warn("retention failed", "storage", x.b.Storage.Name, "error", err)
			continue
		}
		if len(ret.Deleted) > 0 {
			log.Info("retention deleted old backups", "storage", x.b.Storage.Name, "deleted", strings.Join(ret.Deleted, ","), "kept", ret.Kept)
		}
	}
	if len(failed) > 0 && run.Status != record.Partial {
		where := ""
		if len(ds) > 1 {
			where = " in " + strings.Join(failed, "; ")
			failed = nil
		}
		run.Status, run.Error = record.RetentionFailed, "the backup was written, but retention failed"+where+strings.Join(append([]string{""}, failed...), ": ")
	}
}

// partialNote is what a Partial run said of its copies, "" otherwise.
func partialNote(run *record.Run) string {
	if run.Status == record.Partial {
		return run.Error
	}
	return ""
}

// joinLines joins the non-empty lines.
func joinLines(lines ...string) string {
	var out []string
	for _, l := range lines {
		if l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// closeDeadRun finishes the record of a run that died while holding the
// lock (kill -9, a lost node): it is still "running", but this run holds
// the lock now, so it is not running. If it wrote its manifest, it
// succeeded and only its record was lost; otherwise it failed, and its
// incomplete upload, whose key the record gives, is aborted.
func (d *Deps) closeDeadRun(ctx context.Context, book record.Book, ds []*dest, b *config.Backup, lockedAt time.Time, log hclog.Logger) {
	prev, err := book.Current(ctx, b.Name, record.KindBackup)
	if err != nil || prev == nil || prev.Status != record.Running {
		return
	}
	// It ended before this run got the lock; when exactly is unknown.
	prev.FinishedAt = &lockedAt
	sigs, _ := d.Signatures(b)
	if m := findInAny(ctx, ds, sigs, b.Name, prev.ID); m != nil {
		log.Warn("an earlier run wrote its backup but not its record; recording it as succeeded", "run", prev.ID)
		prev.Status, prev.ExitCode = record.Succeeded, 0
		prev.Object, prev.Size, prev.SHA256, prev.CRC32C, prev.Source = m.Object, m.Size, m.SHA256, m.CRC32C, m.Source
		prev.Error = "the run's own record was not written; its manifest shows the backup completed"
	} else {
		log.Warn("an earlier run died without finishing; recording it as failed", "dead_run", prev.ID, "alloc", prev.AllocID)
		for _, x := range live(ds) {
			if j, ok := x.s.(store.Janitor); ok {
				if err := j.AbortUploads(ctx, dataKey(b, prev.ID, prev.Compression), lockedAt); err != nil {
					log.Warn("aborting the dead run's upload failed", "storage", x.b.Storage.Name, "error", err)
				}
			}
		}
		prev.Status, prev.ExitCode = record.Failed, 1
		prev.Error = "the run died without finishing (killed, or its node was lost); its upload was aborted and it wrote no manifest"
	}
	if err := book.Finish(ctx, *prev); err != nil {
		log.Warn("recording the dead run failed", "error", err)
	}
}

// cause prefers the reason the context ended (timeout, lost lock) over the
// error it produced further down.
func cause(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && !errors.Is(err, c) {
		if errors.Is(c, errTimeout) || errors.Is(c, errLockLost) {
			return fmt.Errorf("%w: %v", c, err)
		}
	}
	return err
}

// finish ends a run: a failure when err is set, else the status the run
// has (Succeeded unless a stage after the backup set another). It writes
// the record; a record that cannot be written is reported, and never
// changes the run's outcome: a backup with a manifest stays a backup.
func (d *Deps) finish(ctx context.Context, book record.Book, run *record.Run, err error, log hclog.Logger) (*record.Run, error) {
	now := time.Now().UTC()
	run.FinishedAt = &now
	what := run.Kind
	switch {
	case err != nil:
		run.Status, run.ExitCode, run.Error = record.Failed, 1, err.Error()
		log.Error(what+" failed", "error", err)
	case run.Status == record.Running:
		run.Status = record.Succeeded
		log.Info(what+" succeeded", "duration", now.Sub(run.StartedAt).Round(time.Millisecond))
	default:
		log.Warn(what+" written; a stage after it failed", "status", run.Status, "error", run.Error)
	}
	if book != nil {
		ctx, cancel := bounded(ctx)
		defer cancel()
		if rerr := book.Finish(ctx, *run); rerr != nil {
			log.Error("writing the run record failed; the run's outcome stands", "status", run.Status, "error", rerr)
		}
	}
	if d.Finished != nil {
		d.Finished(run)
	}
	return run, err
}

// failEarly records a failure that happened before the store was open: on
// the control Consul if there is one; in standalone mode the store is out
// of reach, so the error is only returned.
func failEarly(ctx context.Context, d *Deps, run *record.Run, err error, log hclog.Logger) (*record.Run, error) {
	return d.finish(ctx, d.Book, run, err, log)
}

func (d *Deps) recordSkip(cleanup, ctx context.Context, b *config.Backup, s store.Store, run *record.Run, log hclog.Logger) {
	now := time.Now().UTC()
	run.FinishedAt = &now
	defer func() {
		if d.Finished != nil {
			d.Finished(run)
		}
	}()
	book := d.Book
	if book == nil {
		if s == nil {
			var sess *creds.Session
			var err error
			s, sess, err = d.OpenStore(ctx, b)
			defer closeSession(cleanup, sess, log)
			if err != nil {
				log.Warn("could not record the skip", "error", err)
				return
			}
		}
		book = d.book(s)
	}
	sctx, cancel := bounded(cleanup)
	defer cancel()
	if err := book.Skip(sctx, *run); err != nil {
		log.Warn("could not record the skip", "error", err)
	}
}

func closeSession(ctx context.Context, s *creds.Session, log hclog.Logger) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		log.Error("releasing credentials failed", "error", err)
	}
}
