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
	Source plugin.Source
	Size   int64
	// SHA256 or, for an encrypted stream, CRC32C is the stored bytes'
	// checksum (storedSum).
	SHA256, CRC32C string
	PlainSize      int64
	PlainSHA256    string
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
// -> [zstd] -> [encrypt] -> checksum+count (storedSum) -> one pipe per upload. The
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
	stored := storedSum(o.Key != nil)
	out := newFanout(len(o.Puts))
	for i, put := range o.Puts {
		pr, pw := io.Pipe()
		out.pipes[i] = pw
		go func() {
			err := put(ctx, key, pr, -1)
			// Unblock the snapshot side if the upload stopped reading.
			pr.CloseWithError(fmt.Errorf("%w: %v", errUploadStopped, err))
			out.done[i] <- err
		}()
	}
	wire := io.MultiWriter(out, stored)
	sink, plain := wire, stored.sha
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
	res := &streamResult{Source: src, Size: stored.Written(), PlainSize: plain.Written(), PlainSHA256: hex.EncodeToString(plain.Sum()), CopyErrs: errs}
	if stored.sha != nil {
		res.SHA256 = stored.Hex()
	} else {
		res.CRC32C = stored.Hex()
	}
	return res, nil
}
