package tasks

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/manifest"
)

// storedSum decides how a backup's stored bytes are checked, in one
// place: by their sha256, or, when they are encrypted, by their CRC32C.
//
// An encrypted object needs no second cryptographic hash. Every segment
// carries its own AES-GCM tag under the backup's data key, bound to its
// place in the stream and to whether it is the last, so a flipped, cut,
// reordered or swapped segment fails before its bytes pass on; the
// plaintext's sha256 and size, in the signed manifest, are checked before
// the last bytes of a restore go out. The CRC32C (a fraction of the CPU
// of sha256) catches storage damage before any decryption, and names it
// as a checksum failure rather than tampering.
func storedSum(encrypted bool) *objectSum {
	if encrypted {
		return &objectSum{}
	}
	return &objectSum{sha: plugin.NewDigest()}
}

// objectSum is a running checksum of stored bytes: sha256 (a
// plugin.Digest, which a target may reuse) or CRC32C.
type objectSum struct {
	sha *plugin.Digest // nil: CRC32C
	crc uint32
	n   int64
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (s *objectSum) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	if s.sha != nil {
		return s.sha.Write(p)
	}
	s.crc = crc32.Update(s.crc, castagnoli, p)
	return len(p), nil
}

// Written is how many bytes were summed.
func (s *objectSum) Written() int64 { return s.n }

// Name is the checksum's name in manifests and messages.
func (s *objectSum) Name() string {
	if s.sha != nil {
		return "sha256"
	}
	return "crc32c"
}

// Hex is the checksum in lower-case hex.
func (s *objectSum) Hex() string {
	if s.sha != nil {
		return hex.EncodeToString(s.sha.Sum())
	}
	return hex.EncodeToString(binary.BigEndian.AppendUint32(nil, s.crc))
}

// verifiedReader checks size and checksum as bytes pass. The read that
// completes the object returns its bytes only once the whole object is
// checked, and none of them if it is wrong: whoever reads a bad object
// never receives all of it (a server being restored gets a body cut
// short, and restores nothing; see plugin.WholeRestorer). A sha256 one's
// digest is a plugin.StreamDigest a target may reuse (etcd's trailer
// check).
type verifiedReader struct {
	r    io.Reader
	sum  *objectSum
	size int64
	want string
	// failed is why the object is bad, once a read found it.
	failed error
}

// newVerifiedReader checks r against a size and a sha256.
func newVerifiedReader(r io.Reader, size int64, sha string) *verifiedReader {
	return &verifiedReader{r: r, sum: storedSum(false), size: size, want: sha}
}

// newObjectReader checks a backup's stored bytes against its manifest:
// the sha256 it records, or the CRC32C of an encrypted object.
func newObjectReader(r io.Reader, m *manifest.Manifest) *verifiedReader {
	if m.SHA256 != "" {
		return newVerifiedReader(r, m.Size, m.SHA256)
	}
	return &verifiedReader{r: r, sum: storedSum(true), size: m.Size, want: m.CRC32C}
}

// digest is the sha256 a target may reuse, nil for a CRC32C.
func (v *verifiedReader) digest() *plugin.Digest { return v.sum.sha }

// checksumError is an object whose bytes are not the ones its manifest
// describes.
type checksumError struct{ msg string }

func (e *checksumError) Error() string { return e.msg }

func (v *verifiedReader) tooLong() error {
	return &checksumError{fmt.Sprintf("object is longer than the manifest's %d bytes", v.size)}
}

func (v *verifiedReader) Read(p []byte) (int, error) {
	if v.failed != nil {
		return 0, v.failed
	}
	n, err := v.r.Read(p)
	v.sum.Write(p[:n])
	switch done := v.sum.Written(); {
	case done > v.size:
		v.failed = v.tooLong()
	case done == v.size && n > 0, err == io.EOF:
		v.failed = v.check() // before the last bytes go on
	}
	if v.failed != nil {
		return 0, v.failed
	}
	return n, err
}

// Failed is why the object is not what its manifest says, once a read
// found it; nil before then and for a good object.
func (v *verifiedReader) Failed() error { return v.failed }

// WriteTo passes its source's large writes (a parallel download's whole
// parts) on to w, hashing each part on another core while w writes it:
// the hash, the longest step, then overlaps the write instead of adding
// to it. As with Read, the last bytes reach w only once the whole object
// is checked: a server being restored never gets a complete bad body.
func (v *verifiedReader) WriteTo(w io.Writer) (int64, error) {
	wt, ok := v.r.(io.WriterTo)
	if !ok {
		return io.Copy(w, struct{ io.Reader }{v})
	}
	n, err := wt.WriteTo(&hashingWriter{v: v, w: w})
	if err == nil {
		err = v.check()
	}
	var ce *checksumError
	if errors.As(err, &ce) {
		v.failed = ce
	}
	return n, err
}

// hashingWriter hashes into a verifiedReader's checksum what it writes.
type hashingWriter struct {
	v *verifiedReader
	w io.Writer
}

// overlapMin is the write from which hashing runs beside the write.
const overlapMin = 1 << 20

func (h *hashingWriter) Write(p []byte) (int, error) {
	end := h.v.sum.Written() + int64(len(p))
	if end > h.v.size {
		return 0, h.v.tooLong()
	}
	if end == h.v.size {
		h.v.sum.Write(p)
		if err := h.v.check(); err != nil {
			return 0, err
		}
		return h.w.Write(p)
	}
	if len(p) < overlapMin || h.v.sum.sha == nil {
		h.v.sum.Write(p) // a CRC32C is too quick to be worth a goroutine
		return h.w.Write(p)
	}
	hashed := make(chan struct{})
	go func() {
		h.v.sum.Write(p)
		close(hashed)
	}()
	n, err := h.w.Write(p)
	<-hashed
	return n, err
}

func (v *verifiedReader) check() error {
	if v.sum.Written() != v.size {
		return &checksumError{fmt.Sprintf("object has %d bytes, the manifest says %d", v.sum.Written(), v.size)}
	}
	if got := v.sum.Hex(); got != v.want {
		return &checksumError{fmt.Sprintf("object %s %s does not match the manifest's %s", v.sum.Name(), got, v.want)}
	}
	return nil
}
