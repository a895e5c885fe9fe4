package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/lock"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store"
)

// VerifyOptions choose the backup a drill restores.
type VerifyOptions struct {
	// ID picks a backup; "" or "latest" picks the newest.
	ID string
}

// Verify runs a restore drill: pick the backup (it must have a manifest),
// check its size and sha256 and its own internal checksums, restore it into
// a scratch place the target owns, run the spec's assertions, and record
// the result with the restore duration (RTO) and the backup's age (RPO).
// The error is non-nil exactly when the drill failed.
func Verify(ctx context.Context, d *Deps, b *config.Backup, opts VerifyOptions) (*record.Run, error) {
	v := b.Verify
	if v == nil {
		v = &config.Verify{}
	}
	start := d.Now().UTC()
	run := &record.Run{Backup: b.Name, Kind: record.KindVerify, ID: manifest.NewID(start), StartedAt: start}
	me := lock.Me(start)
	run.AllocID, run.Node = me.AllocID, me.Node
	log := d.Log.With("backup", b.Name, "drill", run.ID)
	if v.MaxDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, v.MaxDuration, errTimeout)
		defer cancel()
	}
	cleanup, cancelCleanup := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancelCleanup()

	s, sess, err := d.OpenStore(ctx, b)
	defer closeSession(cleanup, sess, log)
	if err != nil {
		return failEarly(cleanup, d, run, fmt.Errorf("verify %s: %w", b.Name, err), log)
	}
	book := d.book(s)
	run.Status = record.Running
	if err := book.Start(ctx, *run); err != nil {
		return finish(cleanup, book, run, err, log)
	}
	result, err := drill(ctx, d, b, v, s, opts, run)
	if err == nil && len(result.Failed()) > 0 {
		err = errors.New(failureLine(b.Name, result))
	}
	if err != nil && !strings.HasPrefix(err.Error(), "verify "+b.Name) {
		err = fmt.Errorf("verify %s: %w", b.Name, cause(ctx, err))
	}
	return finish(cleanup, book, run, err, log)
}

func drill(ctx context.Context, d *Deps, b *config.Backup, v *config.Verify, s store.Store, opts VerifyOptions, run *record.Run) (*plugin.VerifyResult, error) {
	m, err := FindBackup(ctx, s, b.Name, opts.ID)
	if err != nil {
		return nil, err
	}
	run.Object, run.Size, run.SHA256, run.Compression, run.Source = m.Object, m.Size, m.SHA256, m.Compression, m.Source
	run.Verify = &record.Verify{BackupID: m.ID, BackupTime: m.FinishedAt, BackupAge: run.StartedAt.Sub(m.FinishedAt)}
	t, err := d.TargetFor(b, "")
	if err != nil {
		return nil, err
	}
	verifier, ok := t.(plugin.Verifier)
	if !ok {
		return nil, fmt.Errorf("no restore drill for %s backups", b.Type)
	}
	// Offline checks first: they are cheap and fail before any restore.
	if err := VerifyObject(ctx, s, m, nil); err != nil {
		return nil, fmt.Errorf("checksum check failed, no restore attempted: %w", err)
	}
	if c, ok := t.(plugin.Checker); ok {
		r, closeFn, err := OpenObject(ctx, s, m, nil)
		if err != nil {
			return nil, err
		}
		err = c.CheckOffline(ctx, r)
		closeFn()
		if err != nil {
			return nil, fmt.Errorf("integrity check failed, no restore attempted: %w", err)
		}
	}
	r, closeFn, err := OpenObject(ctx, s, m, nil)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	restoreStart := time.Now()
	res, err := verifier.Verify(ctx, r, v, plugin.VerifyOptions{Scratch: v.Scratch, Log: d.Log})
	run.Verify.RestoreTime = time.Since(restoreStart)
	if err != nil {
		return nil, err
	}
	run.Verify.Values = res.Values
	for _, c := range res.Checks {
		run.Verify.Checks = append(run.Verify.Checks, record.Check{Name: c.Name, Passed: c.Passed, Detail: c.Detail})
	}
	return res, nil
}

// failureLine is a failed drill's reason in one line, e.g.
// "verify consul-prod: key service/web/config missing (restored 1,204 keys)".
func failureLine(name string, res *plugin.VerifyResult) string {
	var parts []string
	for _, c := range res.Failed() {
		parts = append(parts, c.Detail)
	}
	return fmt.Sprintf("verify %s: %s", name, strings.Join(parts, "; "))
}
