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
	errLockLost = errors.New("the Consul lock was lost (session invalidated); the run stopped")
)

// cleanupTimeout bounds the work done after a run ends (record, release,
// revoke), on a context of its own so a cancelled run still cleans up.
const cleanupTimeout = 30 * time.Second

// Run performs one backup run: lock, credentials, stream, manifest,
// retention, record. It returns the run's record. The error is non-nil
// exactly when the run failed; a skipped run is not an error.
func Run(ctx context.Context, d *Deps, b *config.Backup) (*record.Run, error) {
	start := d.Now().UTC()
	me := lock.Me(start)
	run := &record.Run{
		Backup: b.Name, Kind: record.KindBackup, ID: manifest.NewID(start), StartedAt: start,
		AllocID: me.AllocID, Node: me.Node, Compression: b.Compression,
	}
	log := d.Log.With("backup", b.Name, "run", run.ID)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, b.Timeout, errTimeout)
	defer cancelTimeout()
	cleanup, cancelCleanup := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancelCleanup()

	lease, err := d.locker(b).Acquire(ctx, b.Lock.Key, me, b.Lock.TTL, b.Lock.Wait)
	if held, ok := lock.IsHeld(err); ok {
		run.Status, run.Holder = record.Skipped, held.Holder
		run.Error = held.Error()
		log.Info("skipped: another run holds the lock", "lock", b.Lock.Key, "holder", fmt.Sprint(held.Holder))
		d.recordSkip(cleanup, ctx, b, run, log)
		return run, nil
	}
	if err != nil {
		return failEarly(cleanup, d, run, err, log)
	}
	defer func() {
		if err := lease.Release(cleanup); err != nil {
			log.Warn("releasing the lock failed; it frees when the session TTL ends", "error", err)
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
			cancel(errLockLost)
		case <-ctx.Done():
		}
	}()

	s, sess, err := d.OpenStore(ctx, b)
	defer closeSession(cleanup, sess, log)
	if err != nil {
		return failEarly(cleanup, d, run, err, log)
	}
	book := d.book(s)
	d.closeDeadRun(ctx, book, s, b, run.StartedAt, log)
	run.Status = record.Running
	if err := book.Start(ctx, *run); err != nil {
		return finish(cleanup, book, run, err, log)
	}
	log.Info("backup started", "store", s.String(), "lock", b.Lock.Key)

	t, err := d.TargetFor(b, "")
	if err != nil {
		return finish(cleanup, book, run, err, log)
	}
	m, err := takeBackup(ctx, d, b, t, s, run)
	if err != nil {
		return finish(cleanup, book, run, cause(ctx, err), log)
	}
	run.Object, run.Size, run.SHA256, run.Source = m.Object, m.Size, m.SHA256, m.Source
	log.Info("backup written", "object", m.Object, "bytes", m.Size, "sha256", m.SHA256)

	repo, _ := t.(plugin.Repository)
	ret, err := Prune(ctx, s, b, d.Now(), run.StartedAt, repo)
	run.Retention = ret
	if err != nil {
		return finish(cleanup, book, run, cause(ctx, err), log)
	}
	if len(ret.Deleted) > 0 {
		log.Info("retention deleted old backups", "deleted", strings.Join(ret.Deleted, ","), "kept", ret.Kept)
	}
	return finish(cleanup, book, run, nil, log)
}

// closeDeadRun finishes the record of a run that died while holding the
// lock (kill -9, a lost node): it is still "running", but this run holds
// the lock now, so it is dead. Its record turns failed, and its incomplete
// upload, whose key the record gives, is aborted.
func (d *Deps) closeDeadRun(ctx context.Context, book record.Book, s store.Store, b *config.Backup, lockedAt time.Time, log hclog.Logger) {
	prev, err := book.Current(ctx, b.Name)
	if err != nil || prev == nil || prev.Status != record.Running || prev.Kind != record.KindBackup {
		return
	}
	log.Warn("an earlier run died without finishing; recording it as failed", "dead_run", prev.ID, "alloc", prev.AllocID)
	if j, ok := s.(store.Janitor); ok {
		if err := j.AbortUploads(ctx, dataKey(b, prev.ID, prev.Compression), lockedAt); err != nil {
			log.Warn("aborting the dead run's upload failed", "error", err)
		}
	}
	// It died before this run got the lock; when exactly is unknown.
	prev.Status, prev.ExitCode, prev.FinishedAt = record.Failed, 1, &lockedAt
	prev.Error = "the run died without finishing (killed, or its node was lost); its upload was aborted and it wrote no manifest"
	if err := book.Finish(ctx, *prev); err != nil {
		log.Warn("recording the dead run failed", "error", err)
	}
}

// takeBackup streams the snapshot, checks what the store holds, and writes
// the manifest last.
func takeBackup(ctx context.Context, d *Deps, b *config.Backup, t plugin.Target, s store.Store, run *record.Run) (*manifest.Manifest, error) {
	key := dataKey(b, run.ID, b.Compression)
	res, err := stream(ctx, t, s, key, b.Compression == "zstd", plugin.SnapshotOptions{ID: run.ID, Version: d.Version})
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
	m := &manifest.Manifest{
		Format: manifest.Format, ID: run.ID, Backup: b.Name, Type: b.Type,
		Object: key, Size: res.Size, SHA256: res.SHA256, Compression: b.Compression,
		Source: res.Source, StartedAt: run.StartedAt, FinishedAt: d.Now().UTC(),
		Version: d.Version, AllocID: run.AllocID, Node: run.Node,
	}
	if err := putManifest(ctx, s, m); err != nil {
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

func putManifest(ctx context.Context, s store.Store, m *manifest.Manifest) error {
	b, err := m.Encode()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // never write a manifest for a run that was stopped
	}
	return s.Put(ctx, manifest.Key(m.Backup+"/", m.ID), strings.NewReader(string(b)), int64(len(b)))
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

func finish(ctx context.Context, book record.Book, run *record.Run, err error, log hclog.Logger) (*record.Run, error) {
	now := time.Now().UTC()
	run.FinishedAt = &now
	if err != nil {
		run.Status, run.ExitCode, run.Error = record.Failed, 1, err.Error()
		log.Error("backup failed", "error", err)
	} else {
		run.Status = record.Succeeded
		log.Info("backup succeeded", "duration", now.Sub(run.StartedAt).Round(time.Millisecond))
	}
	if rerr := book.Finish(ctx, *run); rerr != nil {
		log.Error("writing the run record failed", "error", rerr)
		if err == nil {
			err = rerr
			run.Status, run.ExitCode, run.Error = record.Failed, 1, rerr.Error()
		}
	}
	return run, err
}

// failEarly records a failure that happened before the store was open: on
// the control Consul if there is one; in standalone mode the store is out
// of reach, so the error is only returned.
func failEarly(ctx context.Context, d *Deps, run *record.Run, err error, log hclog.Logger) (*record.Run, error) {
	if d.Book != nil {
		return finish(ctx, d.Book, run, err, log)
	}
	now := time.Now().UTC()
	run.FinishedAt, run.Status, run.ExitCode, run.Error = &now, record.Failed, 1, err.Error()
	log.Error("backup failed", "error", err)
	return run, err
}

func (d *Deps) recordSkip(cleanup, ctx context.Context, b *config.Backup, run *record.Run, log hclog.Logger) {
	now := time.Now().UTC()
	run.FinishedAt = &now
	book := d.Book
	if book == nil {
		s, sess, err := d.OpenStore(ctx, b)
		defer closeSession(cleanup, sess, log)
		if err != nil {
			log.Warn("could not record the skip", "error", err)
			return
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
