package tasks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/creds"
	"github.com/vigil-backup/vigil/tasks/envelope"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store"
)

// takeBackup streams the snapshot once (encrypted with a fresh data key
// when the backup is) to every live destination, then seals each copy
// that arrived whole: it checks what that store holds and writes its
// manifest last, signed when the backup signs or encrypts, and locked as
// long as the object when that storage locks objects. A copy that fails
// keeps its error in its dest; the error returned means no destination
// holds a good copy. The manifest returned is the first good copy's.
// With keep set, an encrypted backup's plaintext data key is copied
// there for the caller's own drill (the caller clears it).
func takeBackup(ctx context.Context, d *Deps, b *config.Backup, t plugin.Target, ds []*dest, run *record.Run, keep *[]byte) (*manifest.Manifest, error) {
	key := dataKey(b, run.ID, b.Compression)
	kr, err := d.Keyring(b)
	if err != nil {
		return nil, err
	}
	targets := live(ds)
	if len(targets) == 0 {
		return nil, noCopy(ds)
	}
	o := streamOptions{Zstd: b.Compression == "zstd", Backup: b.Name, ID: run.ID}
	stores := make([]store.Store, 0, len(targets))
	for _, x := range targets {
		o.Puts = append(o.Puts, putter(x.s, retentionOf(x.b, run.StartedAt)))
		stores = append(stores, x.s)
	}
	if d.FanOut != nil && len(stores) > 1 {
		d.FanOut(store.PutBuffers(stores))
	}
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
	res, err := stream(ctx, t, key, o, plugin.SnapshotOptions{ID: run.ID, Version: d.Version, AllowEmpty: b.AllowEmpty, Log: d.Log.With("backup", b.Name)})
	var all *copiesFailed
	if errors.As(err, &all) {
		for i, x := range targets {
			x.err = all.errs[i]
		}
		return nil, noCopy(ds)
	}
	if err != nil {
		return nil, err
	}
	for i, x := range targets {
		x.err = res.CopyErrs[i]
	}
	for _, x := range live(ds) {
		x.m, x.err = seal(ctx, d, x, kr, dk, key, res, run)
	}
	if g := firstGood(ds); g != nil {
		return g.m, nil
	}
	return nil, noCopy(ds)
}

// seal checks one destination's copy and writes its manifest.
func seal(ctx context.Context, d *Deps, x *dest, kr *envelope.Keyring, dk *envelope.DataKey, key string, res *streamResult, run *record.Run) (*manifest.Manifest, error) {
	b, s := x.b, x.s
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
		Object: key, Size: res.Size, SHA256: res.SHA256, CRC32C: res.CRC32C, Compression: b.Compression,
		Source: res.Source, StartedAt: run.StartedAt, FinishedAt: d.Now().UTC(),
		Version: d.Version, AllocID: run.AllocID, Node: run.Node, ObjectVersion: version,
	}
	ret := retentionOf(b, run.StartedAt)
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
