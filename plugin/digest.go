package plugin

import (
	"crypto/sha256"
	"encoding"
	"hash"
)

// Digest is a running sha256 that holds the last 32 bytes written back
// from the hash, so it gives both the sha256 of everything and the sha256
// of all but a trailing checksum (StreamDigest). The pipeline hashes every
// stored byte with it, and etcd's trailer is checked from the same pass.
type Digest struct {
	h    hash.Hash
	n    int64
	tail []byte
}

var _ StreamDigest = (*Digest)(nil)

const tailLen = sha256.Size

// NewDigest returns an empty digest.
func NewDigest() *Digest { return &Digest{h: sha256.New(), tail: make([]byte, 0, 2*tailLen)} }

func (d *Digest) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	if len(p) >= tailLen {
		d.h.Write(d.tail)
		d.h.Write(p[:len(p)-tailLen])
		d.tail = append(d.tail[:0], p[len(p)-tailLen:]...)
		return len(p), nil
	}
	d.tail = append(d.tail, p...)
	if extra := len(d.tail) - tailLen; extra > 0 {
		d.h.Write(d.tail[:extra])
		d.tail = append(d.tail[:0], d.tail[extra:]...)
	}
	return len(p), nil
}

// Written implements StreamDigest.
func (d *Digest) Written() int64 { return d.n }

// SumExcept implements StreamDigest.
func (d *Digest) SumExcept(n int) ([]byte, []byte) {
	n = min(n, len(d.tail))
	h := d.clone()
	h.Write(d.tail[:len(d.tail)-n])
	return h.Sum(nil), append([]byte(nil), d.tail[len(d.tail)-n:]...)
}

// Sum is the sha256 of everything written.
func (d *Digest) Sum() []byte {
	h := d.clone()
	h.Write(d.tail)
	return h.Sum(nil)
}

// clone copies the hash state, so sums never disturb the running hash.
func (d *Digest) clone() hash.Hash {
	state, _ := d.h.(encoding.BinaryMarshaler).MarshalBinary()
	h := sha256.New()
	_ = h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state)
	return h
}
