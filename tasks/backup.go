package tasks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/creds"
	"github.com/vigil-backup/vigil/tasks/envelope"
	"github.com/vigil-backup/vigil/tasks/lock"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store"
)

var (
	errTimeout  = errors.New("the run exceeded its timeout")
	errLockLost = errors.New("the lock was lost; the run stopped")
)

// cleanupTimeout bounds the work done after a run ends (record, release,
// revoke), on a context of its own so a cancelled run still cleans up.
const cleanupTimeout = 30 * time.Second

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
	cleanup, cancelCleanup := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancelCleanup()
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
		if err := lease.Release(cleanup); err != nil {
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
	book := d.book(s)
	d.closeDeadRun(bctx, book, s, b, run.StartedAt, log)
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
	m, err := takeBackup(bctx, d, b, t, s, run, keep)
	if err != nil {
		return d.finish(cleanup, book, run, cause(bctx, err), log)
	}
	cancelTimeout()
	run.Object, run.Size, run.SHA256, run.Source = m.Object, m.Size, m.SHA256, m.Source
	log.Info("backup written", "object", m.Object, "bytes", m.Size, "sha256", m.SHA256)
	d.afterBackup(ctx, b, t, s, book, run, o, ownKey, log)
	return d.finish(cleanup, book, run, nil, log)
}

// retentionTimeout bounds a retention pass after a backup.
const retentionTimeout = 15 * time.Minute

// afterBackup runs the stages after a written backup: the drill, then
// retention when the drill passed. A failure sets the run's status to
// what failed; the backup stands either way.
func (d *Deps) afterBackup(ctx context.Context, b *config.Backup, t plugin.Target, s store.Store, book record.Book, run *record.Run, o RunOptions, ownKey []byte, log hclog.Logger) {
	if o.Drill {
		vrun, err := d.verifyIn(ctx, b, s, book, VerifyOptions{ID: run.ID, DataKey: ownKey})
		run.Drill = &record.Drill{RunID: vrun.ID, Passed: err == nil}
		if err != nil {
			run.Drill.Error = err.Error()
			run.Status, run.Error = record.DrillFailed, "the backup was written, but its drill failed: "+err.Error()
			log.Error("the drill of this backup failed; retention is skipped so no history is thinned for it", "error", err)
			return
		}
	}
	rctx, cancel := context.WithTimeout(ctx, retentionTimeout)
	defer cancel()
	repo, _ := t.(plugin.Repository)
	sigs, _ := d.Signatures(b)
	ret, err := Prune(rctx, s, b, sigs, d.Now(), run.StartedAt, repo)
	run.Retention = ret
	if err != nil {
		run.Status, run.Error = record.RetentionFailed, "the backup was written, but retention failed: "+cause(ctx, err).Error()
		log.Warn("retention failed", "error", err)
		return
	}
	if len(ret.Deleted) > 0 {
		log.Info("retention deleted old backups", "deleted", strings.Join(ret.Deleted, ","), "kept", ret.Kept)
	}
}

// closeDeadRun finishes the record of a run that died while holding the
// lock (kill -9, a lost node): it is still "running", but this run holds
// the lock now, so it is not running. If it wrote its manifest, it
// succeeded and only its record was lost; otherwise it failed, and its
// incomplete upload, whose key the record gives, is aborted.
func (d *Deps) closeDeadRun(ctx context.Context, book record.Book, s store.Store, b *config.Backup, lockedAt time.Time, log hclog.Logger) {
	prev, err := book.Current(ctx, b.Name, record.KindBackup)
	if err != nil || prev == nil || prev.Status != record.Running {
		return
	}
	// It ended before this run got the lock; when exactly is unknown.
	prev.FinishedAt = &lockedAt
	sigs, _ := d.Signatures(b)
	if m, err := FindBackup(ctx, s, sigs, b.Name, prev.ID); err == nil && m.ID == prev.ID {
		log.Warn("an earlier run wrote its backup but not its record; recording it as succeeded", "run", prev.ID)
		prev.Status, prev.ExitCode = record.Succeeded, 0
		prev.Object, prev.Size, prev.SHA256, prev.Source = m.Object, m.Size, m.SHA256, m.Source
		prev.Error = "the run's own record was not written; its manifest shows the backup completed"
	} else {
		log.Warn("an earlier run died without finishing; recording it as failed", "dead_run", prev.ID, "alloc", prev.AllocID)
		if j, ok := s.(store.Janitor); ok {
			if err := j.AbortUploads(ctx, dataKey(b, prev.ID, prev.Compression), lockedAt); err != nil {
				log.Warn("aborting the dead run's upload failed", "error", err)
			}
		}
		prev.Status, prev.ExitCode = record.Failed, 1
		prev.Error = "the run died without finishing (killed, or its node was lost); its upload was aborted and it wrote no manifest"
	}
	if err := book.Finish(ctx, *prev); err != nil {
		log.Warn("recording the dead run failed", "error", err)
	}
}

// takeBackup streams the snapshot (encrypted with a fresh data key when
// the backup is), checks what the store holds, and writes the manifest
// last, signed when the backup is encrypted, and locked as long as the
// object when the storage locks objects. With keep set, an encrypted
// backup's plaintext data key is copied there for the caller's own drill
// (the caller clears it).
func takeBackup(ctx context.Context, d *Deps, b *config.Backup, t plugin.Target, s store.Store, run *record.Run, keep *[]byte) (*manifest.Manifest, error) {
	key := dataKey(b, run.ID, b.Compression)
	kr, err := d.Keyring(b)
	if err != nil {
		return nil, err
	}
	ret := retentionOf(b, run.StartedAt)
	o := streamOptions{Zstd: b.Compression == "zstd", Backup: b.Name, ID: run.ID, Put: putter(s, ret)}
	var dk *envelope.DataKey
	if kr != nil {
		if err := creds.Preflight(ctx, d.Vault, b.Encryption.BackupNeeds()); err != nil {
			return nil, fmt.Errorf("tasks: encryption: %w", err)
		}
		if dk, err = kr.NewDataKey(ctx); err != nil {
			return nil, err
		}
		o.Key = dk.Plain
		defer clear(dk.Plain) // the plaintext key lives for this run only
		if keep != nil {
			*keep = bytes.Clone(dk.Plain)
		}
	}
	if b.Encryption == nil && b.Signing != nil {
		// Checked before the upload: a run that could not sign would
		// upload a backup it cannot vouch for.
		if _, err := d.Signer(b); err != nil {
			return nil, err
		}
		if err := creds.Preflight(ctx, d.Vault, b.Signing.BackupNeeds()); err != nil {
			return nil, fmt.Errorf("tasks: signing: %w", err)
		}
	}
	res, err := stream(ctx, t, s, key, o, plugin.SnapshotOptions{ID: run.ID, Version: d.Version, AllowEmpty: b.AllowEmpty, Log: d.Log.With("backup", b.Name)})
	if err != nil {
		return nil, err
	}
	// Trust what the store reports, not what was sent: a store that kept
	// fewer bytes than were written must not get a manifest.
	objs, err := s.List(ctx, key)
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 || objs[0].Key != key || objs[0].Size != res.Size {
		return nil, fmt.Errorf("tasks: %s: the store does not hold the %d bytes written (found %v)", key, res.Size, objs)
	}
	// Under Object Lock the bucket keeps versions: the manifest pins the
	// version just written, so a later write over the key (a new version)
	// can neither replace nor break this backup.
	var version string
	if p, ok := s.(store.Pinner); ok && b.Storage.ObjectLock != nil {
		if version, err = p.Version(ctx, key); err != nil {
			return nil, err
		}
	}
	m := &manifest.Manifest{
		Format: manifest.Format, ID: run.ID, Backup: b.Name, Type: b.Type,
		Object: key, Size: res.Size, SHA256: res.SHA256, Compression: b.Compression,
		Source: res.Source, StartedAt: run.StartedAt, FinishedAt: d.Now().UTC(),
		Version: d.Version, AllocID: run.AllocID, Node: run.Node, ObjectVersion: version,
	}
	if ret != nil {
		m.RetainUntil = &ret.Until
	}
	if dk == nil {
		// Not encrypted: signed alone when the spec signs.
		signer, err := d.Signer(b)
		if err != nil {
			return nil, err
		}
		if signer != nil {
			if err := sign(ctx, signer, m); err != nil {
				return nil, err
			}
		}
	}
	if dk != nil {
		mount, name := kr.Key()
		m.Encryption = &manifest.Encryption{Algorithm: envelope.Algorithm, SegmentSize: envelope.SegmentSize,
			Mount: mount, Key: name, KeyVersion: dk.Version, WrappedKey: dk.Wrapped,
			PlainSize: res.PlainSize, PlainSHA256: res.PlainSHA256}
		if err := sign(ctx, kr, m); err != nil {
			return nil, err
		}
	}
	if err := putManifest(ctx, s, m, ret); err != nil {
		return nil, err
	}
	return m, nil
}

// dataKey is the data object's key of backup id.
func dataKey(b *config.Backup, id, compression string) string {
	key := b.Name + "/" + id + plugin.Extension(b.Type)
	if compression == "zstd" {
		key += ".zst"
	}
	return key
}

func putManifest(ctx context.Context, s store.Store, m *manifest.Manifest, ret *store.Retention) error {
	b, err := m.Encode()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // never write a manifest for a run that was stopped
	}
	return putter(s, ret)(ctx, manifest.Key(m.Backup+"/", m.ID), strings.NewReader(string(b)), int64(len(b)))
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
	if err := book.Skip(cleanup, *run); err != nil {
		log.Warn("could not record the skip", "error", err)
	}
}

func closeSession(ctx context.Context, s *creds.Session, log hclog.Logger) {
	if err := s.Close(ctx); err != nil {
		log.Error("releasing credentials failed", "error", err)
	}
}
