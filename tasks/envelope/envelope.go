// Package envelope encrypts backups with data keys Vault's Transit engine
// issues and wraps (envelope encryption), and signs their manifests with
// Transit. The cipher is Tink's streaming AEAD (AES-256-GCM-HKDF in
// fixed-size segments, each authenticated): nothing here is a hand-made
// cipher mode. A plaintext data key lives in memory for one run and never
// enters a manifest, a record, a log or an error.
package envelope

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	vault "github.com/hashicorp/vault/api"
	"github.com/tink-crypto/tink-go/v2/streamingaead/subtle"
	"github.com/vigil-backup/vigil/hcl/config"
)

// Algorithm names the stream format in manifests: Tink's AES-GCM-HKDF
// streaming AEAD, 256-bit keys derived with HKDF-SHA256, in ciphertext
// segments of SegmentSize bytes (the manifest records the size).
//
// Segments are 256 KiB since 2026-12-06, 1 MiB before (LegacySegmentSize;
// still read). The cipher holds two segments in the Go heap while it
// streams; under the run's soft memory limit, 2 MiB of them made the
// garbage collector run about half as often again and cost more CPU
// than the AES-GCM itself. The tag costs 16 bytes a segment.
const (
	Algorithm         = "tink-aes256-gcm-hkdf-sha256"
	SegmentSize       = 256 << 10
	LegacySegmentSize = 1 << 20
)

// Readable reports whether this vigil decrypts segments of n bytes.
func Readable(n int) bool { return n == SegmentSize || n == LegacySegmentSize }

// Vault is the part of Vault's logical API Transit needs.
type Vault interface {
	WriteWithContext(ctx context.Context, path string, data map[string]any) (*vault.Secret, error)
}

// ErrDenied marks a Transit call the token may not make.
var ErrDenied = errors.New("permission denied")

// Keyring is one backup's Transit key (and signing key).
type Keyring struct {
	v Vault
	c config.Encryption
}

// New returns the keyring of an encryption setting.
func New(v Vault, c config.Encryption) *Keyring { return &Keyring{v: v, c: c} }

// Key is the Transit key's name and mount, as manifests record them.
func (k *Keyring) Key() (mount, name string) { return k.c.Mount, k.c.Key }

func (k *Keyring) path(op, key string) string { return k.c.Mount + "/" + op + "/" + key }

// write calls Transit and names the path and capability on a refusal.
func (k *Keyring) write(ctx context.Context, path string, data map[string]any) (*vault.Secret, error) {
	s, err := k.v.WriteWithContext(ctx, path, data)
	if err != nil {
		var re *vault.ResponseError
		if errors.As(err, &re) && re.StatusCode == 403 {
			return nil, fmt.Errorf("envelope: transit %s: the token lacks \"update\" on %s: %w", path, path, ErrDenied)
		}
		return nil, fmt.Errorf("envelope: transit %s: %w", path, err)
	}
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("envelope: transit %s: empty answer", path)
	}
	return s, nil
}

// DataKey is a fresh data key: the plaintext for this run's memory only,
// and the key wrapped by Transit for the manifest.
type DataKey struct {
	Plain   []byte
	Wrapped string
	Version int
}

// NewDataKey asks Transit for a fresh 256-bit data key.
func (k *Keyring) NewDataKey(ctx context.Context) (*DataKey, error) {
	s, err := k.write(ctx, k.path("datakey/plaintext", k.c.Key), map[string]any{"bits": 256})
	if err != nil {
		return nil, err
	}
	plain, err := base64.StdEncoding.DecodeString(str(s.Data["plaintext"]))
	if err != nil || len(plain) != 32 {
		return nil, fmt.Errorf("envelope: transit datakey: not a 256-bit key")
	}
	wrapped := str(s.Data["ciphertext"])
	return &DataKey{Plain: plain, Wrapped: wrapped, Version: keyVersion(wrapped)}, nil
}

// Unwrap asks Transit to decrypt a wrapped data key.
func (k *Keyring) Unwrap(ctx context.Context, wrapped string) ([]byte, error) {
	s, err := k.write(ctx, k.path("decrypt", k.c.Key), map[string]any{"ciphertext": wrapped})
	if err != nil {
		return nil, err
	}
	plain, err := base64.StdEncoding.DecodeString(str(s.Data["plaintext"]))
	if err != nil || len(plain) != 32 {
		return nil, fmt.Errorf("envelope: transit decrypt: not a 256-bit key")
	}
	return plain, nil
}

// Rewrap wraps a data key again with the key's newest version, without
// Vault or vigil seeing the plaintext leave Transit.
func (k *Keyring) Rewrap(ctx context.Context, wrapped string) (string, int, error) {
	s, err := k.write(ctx, k.path("rewrap", k.c.Key), map[string]any{"ciphertext": wrapped})
	if err != nil {
		return "", 0, err
	}
	w := str(s.Data["ciphertext"])
	return w, keyVersion(w), nil
}

// Wrap wraps a data key with the keyring's key (transit/encrypt): how a
// data key moves from a previous key name to the current one, after
// Unwrap with the previous.
func (k *Keyring) Wrap(ctx context.Context, plain []byte) (string, int, error) {
	s, err := k.write(ctx, k.path("encrypt", k.c.Key), map[string]any{"plaintext": base64.StdEncoding.EncodeToString(plain)})
	if err != nil {
		return "", 0, err
	}
	w := str(s.Data["ciphertext"])
	return w, keyVersion(w), nil
}

// Signs reports whether sig is what the keyring signs now: its kind and
// key (a previous key's signature still verifies, but rewrap replaces it).
func (k *Keyring) Signs(sig *Signature) bool {
	if sig == nil {
		return false
	}
	if k.c.SignKey != "" {
		return sig.Type == SignEd25519 && sig.Key == k.c.SignKey
	}
	return sig.Type == SignHMAC && sig.Key == k.c.Key
}

// keyVersion reads N from "vault:vN:...".
func keyVersion(ciphertext string) int {
	var v int
	if parts := strings.SplitN(ciphertext, ":", 3); len(parts) == 3 {
		fmt.Sscanf(parts[1], "v%d", &v)
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// aad binds a stream to its backup and ID: an object copied under another
// backup's name, or another ID, does not decrypt.
func aad(backup, id string) []byte { return []byte("vigil/" + backup + "/" + id) }

func cipherFor(key []byte, segmentSize int) (*subtle.AESGCMHKDF, error) {
	c, err := subtle.NewAESGCMHKDF(key, "SHA256", 32, segmentSize, 0)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return c, nil
}

// Encrypt returns a writer that encrypts into w; its Close writes the last
// segment and must be called for the stream to be whole.
func Encrypt(w io.Writer, key []byte, backup, id string) (io.WriteCloser, error) {
	c, err := cipherFor(key, SegmentSize)
	if err != nil {
		return nil, err
	}
	ew, err := c.NewEncryptingWriter(w, aad(backup, id))
	if err != nil {
		return nil, fmt.Errorf("envelope: encrypt: %w", err)
	}
	return ew, nil
}

// Decrypt returns a reader of r's plaintext, written in segments of
// segmentSize bytes (the manifest's). Each segment is authenticated
// before its bytes are returned; a flipped byte, a truncated stream or
// segments out of order fail with ErrTampered before any byte of the bad
// segment is passed on.
func Decrypt(r io.Reader, key []byte, backup, id string, segmentSize int) (io.Reader, error) {
	if !Readable(segmentSize) {
		return nil, fmt.Errorf("envelope: decrypt: %d-byte segments, which this vigil does not read", segmentSize)
	}
	c, err := cipherFor(key, segmentSize)
	if err != nil {
		return nil, err
	}
	dr, err := c.NewDecryptingReader(r, aad(backup, id))
	if err != nil {
		return nil, fmt.Errorf("envelope: decrypt: %w: %v", ErrTampered, err)
	}
	return &tamperReader{r: dr}, nil
}

// ErrTampered marks a ciphertext that does not authenticate.
var ErrTampered = errors.New("the encrypted object does not authenticate (altered, truncated or reordered)")

// tamperReader names Tink's authentication errors plainly.
type tamperReader struct{ r io.Reader }

func (t *tamperReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("envelope: decrypt: %w: %v", ErrTampered, err)
	}
	return n, err
}
