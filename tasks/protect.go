package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/envelope"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/store"
)

// Signatures checks manifests' signatures; a nil Signatures checks none
// (the backup is not encrypted, and its manifests are not signed).
type Signatures interface {
	// Verify returns "" when sig holds for payload, or why not.
	Verify(ctx context.Context, payload []byte, sig *manifest.Signature) (string, error)
}

var _ Signatures = (*envelope.Keyring)(nil)

// ErrNoTransit is returned when a backup is encrypted and no Vault is set.
var ErrNoTransit = errors.New("the backup is encrypted with Vault Transit, and no Vault client is set: set VAULT_ADDR and VAULT_TOKEN")

// Keyring returns the Transit keyring of an encrypted backup, nil for one
// that is not encrypted.
func (d *Deps) Keyring(b *config.Backup) (*envelope.Keyring, error) {
	if b.Encryption == nil {
		return nil, nil
	}
	if d.Vault == nil {
		return nil, fmt.Errorf("tasks: %s: %w", b.Name, ErrNoTransit)
	}
	return envelope.New(d.Vault, *b.Encryption), nil
}

// Signer returns the keyring that signs and checks a backup's manifests:
// its encryption's, or its signing's; nil when its manifests are not
// signed.
func (d *Deps) Signer(b *config.Backup) (*envelope.Keyring, error) {
	if b.Encryption != nil {
		return d.Keyring(b)
	}
	if b.Signing == nil {
		return nil, nil
	}
	if d.Vault == nil {
		return nil, fmt.Errorf("tasks: %s: the backup's manifests are signed with Vault Transit, and no Vault client is set: set VAULT_ADDR and VAULT_TOKEN", b.Name)
	}
	return envelope.New(d.Vault, b.Signing.Keys()), nil
}

// Signatures is the backup's keyring as the checker of its manifests'
// signatures, nil when they are not signed (a typed nil pointer would
// not compare to nil).
func (d *Deps) Signatures(b *config.Backup) (Signatures, error) {
	kr, err := d.Signer(b)
	if kr == nil {
		return nil, err
	}
	return kr, nil
}

// unwrapKeyring is the keyring a manifest's data key was wrapped with:
// the mount and key it names (keys may have changed in the spec since).
//
// The Transit mount and key come from the spec, never from the manifest
// alone: a spec that encrypts nothing refuses a manifest that claims
// encryption without calling Vault, and one that names another mount or
// key refuses it too (an edited or foreign manifest must not make vigil
// call Vault where it says).
func (d *Deps) unwrapKeyring(b *config.Backup, m *manifest.Manifest) (*envelope.Keyring, error) {
	e := m.Encryption
	switch {
	case b.Encryption == nil:
		return nil, fmt.Errorf("tasks: %s/%s: the manifest says it is encrypted with Transit key %s/%s, but the spec encrypts nothing: refused without asking Vault (an edited or foreign manifest, or add the encryption block it was written with)",
			m.Backup, m.ID, e.Mount, e.Key)
	case e.Mount != b.Encryption.Mount || (e.Key != b.Encryption.Key && !slices.Contains(b.Encryption.PreviousKeys, e.Key)):
		return nil, fmt.Errorf("tasks: %s/%s: the manifest names Transit key %s/%s, the spec %s/%s: refused without asking Vault",
			m.Backup, m.ID, e.Mount, e.Key, b.Encryption.Mount, b.Encryption.Key)
	case d.Vault == nil:
		return nil, fmt.Errorf("tasks: %s: %w", b.Name, ErrNoTransit)
	}
	c := *b.Encryption
	c.Key = e.Key // the current key, or a previous one the spec lists
	return envelope.New(d.Vault, c), nil
}

// retentionOf is the object lock a run's objects get: until its start
// plus the storage's retain. Every object and the manifest of the run
// share the date, which the manifest records.
func retentionOf(b *config.Backup, start time.Time) *store.Retention {
	l := b.Storage.ObjectLock
	if l == nil {
		return nil
	}
	return &store.Retention{Mode: l.Mode, Until: start.Add(l.Retain).UTC()}
}

// putter writes with the run's object lock when there is one.
func putter(s store.Store, ret *store.Retention) func(ctx context.Context, key string, r io.Reader, size int64) error {
	if ret == nil {
		return s.Put
	}
	if r, ok := s.(store.Retainer); ok {
		return func(ctx context.Context, key string, body io.Reader, size int64) error {
			return r.PutRetained(ctx, key, body, size, *ret)
		}
	}
	return func(context.Context, string, io.Reader, int64) error {
		return fmt.Errorf("store: %s cannot lock objects (object_lock needs S3)", s)
	}
}

// sign signs a manifest with the backup's keyring.
func sign(ctx context.Context, kr *envelope.Keyring, m *manifest.Manifest) error {
	payload, err := m.SignedBytes()
	if err != nil {
		return err
	}
	sig, err := kr.Sign(ctx, payload)
	if err != nil {
		return err
	}
	m.Signature = sig
	return nil
}

// verifySignature says why a manifest's signature does not hold ("" when
// it does, or when sigs is nil).
func verifySignature(ctx context.Context, sigs Signatures, m *manifest.Manifest) (string, error) {
	if sigs == nil || m == nil {
		return "", nil
	}
	payload, err := m.SignedBytes()
	if err != nil {
		return "", err
	}
	return sigs.Verify(ctx, payload, m.Signature)
}

// decryptFor returns a reader of a manifest's plaintext from its stored
// bytes r: the data key unwrapped through Transit, every segment
// authenticated before its bytes pass, and the plaintext's size and
// sha256 checked against the manifest at the end. It returns r as it is
// for an object that is not encrypted.
func (d *Deps) decryptFor(ctx context.Context, b *config.Backup, m *manifest.Manifest, r io.Reader) (io.Reader, error) {
	e := m.Encryption
	if e == nil {
		return r, nil
	}
	if e.Algorithm != envelope.Algorithm || !envelope.Readable(e.SegmentSize) {
		return nil, fmt.Errorf("tasks: %s/%s: encrypted with %s in %d-byte segments, which this vigil does not read", m.Backup, m.ID, e.Algorithm, e.SegmentSize)
	}
	kr, err := d.unwrapKeyring(b, m)
	if err != nil {
		return nil, err
	}
	key, err := kr.Unwrap(ctx, e.WrappedKey)
	if err != nil {
		return nil, fmt.Errorf("tasks: %s/%s: unwrap the data key with Transit key %s/%s: %w", m.Backup, m.ID, e.Mount, e.Key, err)
	}
	return decryptWith(m, key, r)
}

// decryptWith decrypts m's object with its plaintext data key, checking
// the plaintext's size and sha256 against the manifest.
func decryptWith(m *manifest.Manifest, key []byte, r io.Reader) (io.Reader, error) {
	e := m.Encryption
	if e == nil {
		return r, nil
	}
	pr, err := envelope.Decrypt(r, key, m.Backup, m.ID, e.SegmentSize)
	if err != nil {
		return nil, err
	}
	return newVerifiedReader(pr, e.PlainSize, e.PlainSHA256), nil
}
