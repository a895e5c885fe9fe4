package tasks

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/store"
)

// RewrapResult is what a rewrap did to one backup's manifests.
type RewrapResult struct {
	Rewrapped, Current int
	// Skipped are manifests that are not good backups (tampered ones
	// among them): rewrap never signs what it cannot trust.
	Skipped []string
}

// Rewrap wraps the data key of every good, encrypted backup again with
// the newest version of its Transit key (transit/rewrap: the plaintext
// never leaves Vault), and signs and writes its manifest again. No data
// object is touched. After it, the key's min_decryption_version may be
// raised to the newest version. Manifests already on the newest version
// are left alone.
func Rewrap(ctx context.Context, d *Deps, b *config.Backup, s store.Store) (*RewrapResult, error) {
	kr, err := d.Keyring(b)
	if err != nil {
		return nil, err
	}
	if kr == nil {
		return nil, fmt.Errorf("tasks: rewrap %s: the backup is not encrypted", b.Name)
	}
	cat, err := ReadCatalog(ctx, s, kr, b.Name)
	if err != nil {
		return nil, err
	}
	res := &RewrapResult{}
	for _, e := range cat.Broken {
		res.Skipped = append(res.Skipped, e.ID+": "+e.Problem)
	}
	for _, e := range cat.Good {
		m := e.Manifest
		if m.Encryption == nil {
			continue
		}
		unwrap, err := d.unwrapKeyring(b, m)
		if err != nil {
			return res, err
		}
		wrapped, version, err := unwrap.Rewrap(ctx, m.Encryption.WrappedKey)
		if err != nil {
			return res, fmt.Errorf("tasks: rewrap %s/%s: %w", b.Name, m.ID, err)
		}
		if version == m.Encryption.KeyVersion {
			res.Current++
			continue
		}
		m.Encryption.WrappedKey, m.Encryption.KeyVersion = wrapped, version
		if err := sign(ctx, kr, m); err != nil {
			return res, err
		}
		if err := putManifest(ctx, s, m, relock(b, m, d.Now())); err != nil {
			return res, err
		}
		res.Rewrapped++
	}
	return res, nil
}

// relock is the lock a rewritten manifest keeps: its backup's date, when
// that is still ahead (a date in the past cannot be set).
func relock(b *config.Backup, m *manifest.Manifest, now time.Time) *store.Retention {
	l := b.Storage.ObjectLock
	if l == nil || m.RetainUntil == nil || !m.RetainUntil.After(now) {
		return nil
	}
	return &store.Retention{Mode: l.Mode, Until: *m.RetainUntil}
}
