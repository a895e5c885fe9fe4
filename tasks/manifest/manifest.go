// Package manifest is the record written beside each backup object. A
// backup exists only if its manifest exists: the manifest is written last,
// after the object is complete, and deleted first.
package manifest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
)

// Format is the manifest format version this vigil writes.
const Format = 1

// Suffix ends every manifest key.
const Suffix = ".manifest.json"

// IDLayout formats backup IDs: UTC time to the millisecond, so IDs sort in
// time order.
const IDLayout = "20060102T150405.000Z"

var idPattern = regexp.MustCompile(`^\d{8}T\d{6}\.\d{3}Z$`)

// Manifest describes one complete backup.
type Manifest struct {
	Format int    `json:"format"`
	ID     string `json:"id"`
	Backup string `json:"backup"`
	Type   string `json:"type"`
	// Object is the data object's key in the store; empty for
	// elasticsearch, whose data lives in its own snapshot repository.
	Object string `json:"object,omitempty"`
	// ObjectVersion is the version of Object the backup wrote, in a
	// bucket that keeps versions (Object Lock): every read takes it.
	ObjectVersion string `json:"object_version,omitempty"`
	Size          int64  `json:"size"`
	SHA256        string `json:"sha256,omitempty"`
	// CRC32C (Castagnoli, hex) is an encrypted object's checksum in
	// place of SHA256: its AEAD and PlainSHA256 prove its bytes
	// (tasks.storedSum says why).
	CRC32C      string            `json:"crc32c,omitempty"`
	Compression string            `json:"compression"`
	Source      map[string]string `json:"source"`
	StartedAt   time.Time         `json:"started_at"`
	FinishedAt  time.Time         `json:"finished_at"`
	Version     string            `json:"vigil_version"`
	AllocID     string            `json:"alloc_id,omitempty"`
	Node        string            `json:"node,omitempty"`
	// Encryption describes an encrypted object: Size and CRC32C (SHA256
	// in manifests written before 2026-12-06) above are the stored
	// (encrypted) bytes'.
	Encryption *Encryption `json:"encryption,omitempty"`
	// RetainUntil is the object lock's date on the object and manifest.
	RetainUntil *time.Time `json:"retain_until,omitempty"`
	// Signature covers every field above (the manifest without it).
	Signature *Signature `json:"signature,omitempty"`
}

// Encryption is how a backup's object was encrypted (envelope encryption
// with Vault Transit): the data key wrapped by the Transit key, never the
// key itself.
type Encryption struct {
	Algorithm   string `json:"algorithm"`
	SegmentSize int    `json:"segment_size"`
	Mount       string `json:"transit_mount"`
	Key         string `json:"transit_key"`
	KeyVersion  int    `json:"key_version"`
	WrappedKey  string `json:"wrapped_key"`
	// PlainSize and PlainSHA256 are the bytes before encryption (after
	// compression).
	PlainSize   int64  `json:"plaintext_size"`
	PlainSHA256 string `json:"plaintext_sha256"`
}

// Signature is a manifest's signature by a Transit key.
type Signature struct {
	Type  string `json:"type"`
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SignedBytes is what a signature covers: the manifest without its
// signature, encoded as Encode does (struct order, sorted map keys).
func (m *Manifest) SignedBytes() ([]byte, error) {
	c := *m
	c.Signature = nil
	return c.Encode()
}

// NewID returns the ID of a backup started at t.
func NewID(t time.Time) string { return t.UTC().Format(IDLayout) }

// IDTime parses an ID back into its time.
func IDTime(id string) (time.Time, error) { return time.Parse(IDLayout, id) }

// Key is where a backup's manifest lives: beside the data object.
func Key(dir, id string) string { return dir + id + Suffix }

// Encode returns the manifest as indented JSON.
func (m *Manifest) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest: encode %s: %w", m.ID, err)
	}
	return append(b, '\n'), nil
}

// Parse decodes and checks a manifest. Anything that could make a restore
// trust the wrong bytes is an error: an unknown format, a malformed ID or
// hash, a negative size, a data key outside its backup's folder. The JSON
// is read strictly (encoding/json v2's semantics): an unknown, duplicate
// or case-variant key, or trailing data, makes the manifest unreadable, so
// that what a signature covered is exactly what is read.
func Parse(b []byte) (*Manifest, error) {
	var m Manifest
	if err := jsonv2.Unmarshal(b, &m, jsonv2.RejectUnknownMembers(true)); err != nil {
		return nil, fmt.Errorf("manifest: decode: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

var (
	sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)
	crc32cHex = regexp.MustCompile(`^[0-9a-f]{8}$`)
)

// Checksum is the stored object's checksum as people read it: the
// sha256's hex, or "crc32c:" and its hex for an encrypted object.
func (m *Manifest) Checksum() string {
	if m.CRC32C != "" {
		return "crc32c:" + m.CRC32C
	}
	return m.SHA256
}

// Validate checks the manifest's invariants.
func (m *Manifest) Validate() error {
	switch {
	case m.Format != Format:
		return fmt.Errorf("manifest: format %d is not supported (this vigil reads %d)", m.Format, Format)
	case !idPattern.MatchString(m.ID):
		return fmt.Errorf("manifest: invalid id %q", m.ID)
	case m.Backup == "" || strings.ContainsAny(m.Backup, "/\\"):
		return fmt.Errorf("manifest: invalid backup name %q", m.Backup)
	case m.Size < 0:
		return fmt.Errorf("manifest: negative size %d", m.Size)
	case m.Compression != "zstd" && m.Compression != "none":
		return fmt.Errorf("manifest: unknown compression %q", m.Compression)
	case m.FinishedAt.Before(m.StartedAt):
		return fmt.Errorf("manifest: finished before it started")
	}
	if e := m.Encryption; e != nil {
		switch {
		case e.WrappedKey == "" || !strings.HasPrefix(e.WrappedKey, "vault:v"):
			return fmt.Errorf("manifest: encrypted, but the wrapped data key is not a Transit ciphertext")
		case !sha256Hex.MatchString(e.PlainSHA256) || e.PlainSize < 0:
			return fmt.Errorf("manifest: encrypted, but the plaintext's size or sha256 is invalid")
		case e.SegmentSize <= 0 || e.Key == "" || e.Mount == "":
			return fmt.Errorf("manifest: encrypted, but the key or segment size is missing")
		}
	}
	if m.Object != "" {
		switch {
		case m.SHA256 != "" && m.CRC32C != "":
			return fmt.Errorf("manifest: both a sha256 and a crc32c")
		case m.CRC32C != "" && m.Encryption == nil:
			return fmt.Errorf("manifest: a crc32c alone checks only an encrypted object; this one is not encrypted")
		case m.CRC32C != "" && !crc32cHex.MatchString(m.CRC32C):
			return fmt.Errorf("manifest: invalid crc32c %q", m.CRC32C)
		case m.CRC32C == "" && !sha256Hex.MatchString(m.SHA256):
			return fmt.Errorf("manifest: invalid sha256 %q", m.SHA256)
		}
		if strings.Contains(m.Object, "..") || !strings.Contains(m.Object, "/"+m.ID) {
			return fmt.Errorf("manifest: object %q does not belong to backup %s", m.Object, m.ID)
		}
	}
	return nil
}
