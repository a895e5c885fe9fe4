package tasks

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/envelope"
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
//
// A data key wrapped by a key the spec lists in previous_keys (a renamed
// key) is unwrapped with it and wrapped with the current key
// (transit/decrypt, then transit/encrypt: the plaintext passes through
// vigil's memory, as in a restore, and is cleared). A manifest signed by
// a previous key or kind (before sign_key) is signed again with the
// current one. A signed backup without encryption is re-signed the same
// way. After it, the previous keys can leave previous_keys.
func Rewrap(ctx context.Context, d *Deps, b *config.Backup, s store.Store) (*RewrapResult, error) {
	kr, err := d.Signer(b)
	if err != nil {
		return nil, err
	}
	if kr == nil {
		return nil, fmt.Errorf("tasks: rewrap %s: the backup is neither encrypted nor signed", b.Name)
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
		changed, err := d.rewrapKey(ctx, b, kr, m)
		if err != nil {
			return res, fmt.Errorf("tasks: rewrap %s/%s: %w", b.Name, m.ID, err)
		}
		if !changed && kr.Signs(m.Signature) {
			res.Current++
			continue
		}
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

// rewrapKey wraps an encrypted manifest's data key with the newest
// version of the current key, and says whether it changed.
func (d *Deps) rewrapKey(ctx context.Context, b *config.Backup, kr *envelope.Keyring, m *manifest.Manifest) (bool, error) {
	e := m.Encryption
	if e == nil {
		return false, nil
	}
	unwrap, err := d.unwrapKeyring(b, m)
	if err != nil {
		return false, err
	}
	if _, current := kr.Key(); e.Key != current {
		plain, err := unwrap.Unwrap(ctx, e.WrappedKey)
		if err != nil {
			return false, err
		}
		defer clear(plain)
		wrapped, version, err := kr.Wrap(ctx, plain)
		if err != nil {
			return false, err
		}
		e.Key, e.WrappedKey, e.KeyVersion = current, wrapped, version
		return true, nil
	}
	wrapped, version, err := unwrap.Rewrap(ctx, e.WrappedKey)
	if err != nil {
		return false, err
	}
	if version == e.KeyVersion {
		return false, nil
	}
	e.WrappedKey, e.KeyVersion = wrapped, version
	return true, nil
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
