// Package tasks is what runs inside a Nomad allocation: one backup run
// (lock, credentials, stream, manifest, retention, record), restores, and
// the listing of backups.
package tasks

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/envelope"
)

// streamResult is what landed in the stores, and, for an encrypted
// stream, what went into the cipher.
type streamResult struct {
	Source      plugin.Source
	Size        int64
	SHA256      string
	PlainSize   int64
	PlainSHA256 string
	// CopyErrs holds, for each of streamOptions.Puts, why that
	// destination's upload failed; nil where it took every byte.
	CopyErrs []error
}

// errUploadStopped is what the snapshot side sees when the upload fails.
var errUploadStopped = errors.New("upload stopped")

// putFunc writes one object; size is -1 when unknown.
type putFunc func(ctx context.Context, key string, r io.Reader, size int64) error

// streamOptions shape one stream.
type streamOptions struct {
	Zstd bool
	// Key, when set, encrypts the stream (envelope.Encrypt) for backup
	// Backup, ID ID.
	Key        []byte
	Backup, ID string
	// Puts write the object, one per destination.
	Puts []putFunc
}

// stream runs target.Snapshot into every destination at once: snapshot
// -> [zstd] -> [encrypt] -> sha256+count -> one pipe per upload. The
// source is read, compressed, encrypted and hashed once. Nothing touches
// the disk, and memory is bounded by the uploaders' part buffers and one
// cipher segment.
//
// A destination whose upload fails is dropped from the stream (its store
// discards the partial object) and the others go on: its error is in
// CopyErrs. The stream fails when the snapshot fails, or when every
// destination did; with one destination, its error is the stream's.
func stream(ctx context.Context, t plugin.Target, key string, o streamOptions, so plugin.SnapshotOptions) (*streamResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stored := plugin.NewDigest()
	// Encrypted to one destination, the stored bytes are hashed on the
	// upload's side, so the two sha256 passes (plaintext, ciphertext) run
	// on two goroutines.
	hashOnUpload := o.Key != nil && len(o.Puts) == 1
	out := newFanout(len(o.Puts))
	for i, put := range o.Puts {
		pr, pw := io.Pipe()
		out.pipes[i] = pw
		var upload io.Reader = pr
		if hashOnUpload {
			upload = io.TeeReader(pr, stored)
		}
		go func() {
			err := put(ctx, key, upload, -1)
			// Unblock the snapshot side if the upload stopped reading.
			pr.CloseWithError(fmt.Errorf("%w: %v", errUploadStopped, err))
			out.done[i] <- err
		}()
	}
	var wire io.Writer = out
	if !hashOnUpload {
		wire = io.MultiWriter(out, stored)
	}
	sink, plain := wire, stored
	var cipher io.WriteCloser
	if o.Key != nil {
		var err error
		if cipher, err = envelope.Encrypt(wire, o.Key, o.Backup, o.ID); err != nil {
			out.stop(err)
			return nil, err
		}
		plain = plugin.NewDigest()
		sink = io.MultiWriter(cipher, plain)
	}
	if !o.Zstd {
		// The bytes before encryption are the target's own: let it
		// reuse their digest.
		so.Digest = plain
	}
	var enc *zstd.Encoder
	if o.Zstd {
		var err error
		// A 2 MiB window instead of the default 8 MiB keeps the encoder's
		// memory small at little cost in ratio for snapshot data.
		enc, err = zstd.NewWriter(sink, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithWindowSize(2<<20))
		if err != nil {
			out.stop(err)
			return nil, fmt.Errorf("tasks: zstd: %w", err)
		}
		sink = enc
	}
	src, err := t.Snapshot(ctx, sink, so)
	if err == nil && enc != nil {
		err = enc.Close()
	}
	if err == nil && cipher != nil {
		err = cipher.Close() // the last segment, marked last
	}
	if err != nil {
		cancel()
		errs := out.stop(err)
		// When every upload failed first, the snapshot only saw closed
		// pipes: the uploads' errors are the cause worth reporting.
		if errors.Is(err, errUploadStopped) {
			return nil, out.allFailed(errs)
		}
		return nil, err
	}
	errs := out.stop(nil)
	if out.live(errs) == 0 {
		return nil, out.allFailed(errs)
	}
	return &streamResult{Source: src, Size: stored.Written(), SHA256: hex.EncodeToString(stored.Sum()),
		PlainSize: plain.Written(), PlainSHA256: hex.EncodeToString(plain.Sum()), CopyErrs: errs}, nil
}

// verifiedReader checks size and sha256 as bytes pass, and fails the read
// that reaches the end if either is wrong, so a restore never consumes the
// last byte of a bad object as if it were good. Its digest is a
// plugin.StreamDigest a target may reuse (etcd's trailer check).
type verifiedReader struct {
	r      io.Reader
	d      *plugin.Digest
	size   int64
	sha256 string
}

func newVerifiedReader(r io.Reader, size int64, sha string) *verifiedReader {
	return &verifiedReader{r: r, d: plugin.NewDigest(), size: size, sha256: sha}
}

// checksumError is an object whose bytes are not the ones its manifest
// describes.
type checksumError struct{ msg string }

func (e *checksumError) Error() string { return e.msg }

func (v *verifiedReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.d.Write(p[:n])
	if v.d.Written() > v.size {
		return n, &checksumError{fmt.Sprintf("object is longer than the manifest's %d bytes", v.size)}
	}
	if err == io.EOF {
		if verr := v.check(); verr != nil {
			return n, verr
		}
	}
	return n, err
}

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
	return n, err
}

// hashingWriter hashes into a verifiedReader's digest what it writes.
type hashingWriter struct {
	v *verifiedReader
	w io.Writer
}

// overlapMin is the write from which hashing runs beside the write.
const overlapMin = 1 << 20

func (h *hashingWriter) Write(p []byte) (int, error) {
	end := h.v.d.Written() + int64(len(p))
	if end > h.v.size {
		return 0, &checksumError{fmt.Sprintf("object is longer than the manifest's %d bytes", h.v.size)}
	}
	if end == h.v.size {
		h.v.d.Write(p)
		if err := h.v.check(); err != nil {
			return 0, err
		}
		return h.w.Write(p)
	}
	if len(p) < overlapMin {
		h.v.d.Write(p)
		return h.w.Write(p)
	}
	hashed := make(chan struct{})
	go func() {
		h.v.d.Write(p)
		close(hashed)
	}()
	n, err := h.w.Write(p)
	<-hashed
	return n, err
}

func (v *verifiedReader) check() error {
	if v.d.Written() != v.size {
		return &checksumError{fmt.Sprintf("object has %d bytes, the manifest says %d", v.d.Written(), v.size)}
	}
	if got := hex.EncodeToString(v.d.Sum()); got != v.sha256 {
		return &checksumError{fmt.Sprintf("object sha256 %s does not match the manifest's %s", got, v.sha256)}
	}
	return nil
}
