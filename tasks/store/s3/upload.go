package s3

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3type "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/vigil-backup/vigil/tasks/store"
)

// Multipart upload tuning. Memory is (Concurrency+1) part buffers, reused
// for the whole upload: 15 MiB by default. Parts start at 5 MiB (the S3
// minimum) and double every partsPerStep parts, so a stream of unknown size
// can reach about 300 GiB within S3's 10,000 parts while small snapshots
// keep small buffers.
const (
	MinPartSize        = 5 << 20
	DefaultConcurrency = 2
	maxParts           = 10000
	partsPerStep       = 2000
)

var _ store.Buffering = (*Store)(nil)

// PutBuffer implements store.Buffering: Concurrency+1 part buffers of the
// first parts' size (parts grow only past 2,000 parts, 10 GiB).
func (s *Store) PutBuffer() int64 {
	base, conc := int64(s.PartSize), s.Concurrency
	if base < MinPartSize {
		base = MinPartSize
	}
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	return int64(conc+1) * base
}

// partSize is the size of part number n (1-based) for a stream that starts
// at base.
func partSize(base int64, n int) int64 {
	return base << ((n - 1) / partsPerStep)
}

// upload is one multipart upload from a stream.
type upload struct {
	s      *Store
	key    *string
	id     *string
	mu     sync.Mutex
	parts  []s3type.CompletedPart
	err    error
	buffer chan []byte
}

// putStream uploads r. It reads one part first: a stream that fits in it
// goes up as a single PutObject; a longer one as a multipart upload whose
// part uploads overlap with reading the next part. On any error the
// multipart upload is aborted, with a context of its own.
func (s *Store) putStream(ctx context.Context, key string, r io.Reader, size int64, ret *store.Retention) error {
	base := int64(s.PartSize)
	if base < MinPartSize {
		base = MinPartSize
	}
	for size > 0 && size > base*maxParts {
		base *= 2 // a known size picks parts that fit in 10,000
	}
	conc := s.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	firstSize := base
	if size >= 0 && size < base {
		firstSize = size + 1 // room to see the end of a small object
	}
	first := make([]byte, firstSize)
	n, err := io.ReadFull(r, first)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return err
	}
	if int64(n) == firstSize && firstSize < base {
		// More bytes than the size given: read a whole first part.
		full := make([]byte, base)
		copy(full, first[:n])
		m, err := io.ReadFull(r, full[n:])
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return err
		}
		first, n, firstSize = full, n+m, base
	}
	k := aws.String(s.Prefix + key)
	if int64(n) < firstSize {
		in := &awss3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: k, Body: bytes.NewReader(first[:n]), ContentLength: aws.Int64(int64(n))}
		s.sse(&in.ServerSideEncryption)
		if ret != nil {
			// S3 asks a locked put for a checksum of its body.
			in.ObjectLockMode, in.ObjectLockRetainUntilDate = s3type.ObjectLockMode(ret.Mode), aws.Time(ret.Until)
			in.ChecksumAlgorithm = s3type.ChecksumAlgorithmCrc32c
		}
		_, err := s.Client.PutObject(ctx, in)
		return err
	}
	create := &awss3.CreateMultipartUploadInput{Bucket: aws.String(s.Bucket), Key: k, ChecksumAlgorithm: s3type.ChecksumAlgorithmCrc32c}
	s.sse(&create.ServerSideEncryption)
	if ret != nil {
		create.ObjectLockMode, create.ObjectLockRetainUntilDate = s3type.ObjectLockMode(ret.Mode), aws.Time(ret.Until)
	}
	out, err := s.Client.CreateMultipartUpload(ctx, create)
	if err != nil {
		return err
	}
	u := &upload{s: s, key: k, id: out.UploadId, buffer: make(chan []byte, conc+1)}
	if err := u.run(ctx, r, first, base, conc); err != nil {
		u.abort(ctx)
		return err
	}
	return nil
}

func (s *Store) sse(dst *s3type.ServerSideEncryption) {
	if s.SSE != "" {
		*dst = s3type.ServerSideEncryption(s.SSE)
	}
}

func (u *upload) run(ctx context.Context, r io.Reader, first []byte, base int64, conc int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	buf, n := first, len(first)
	for part := 1; ; part++ {
		if part > maxParts {
			u.fail(fmt.Errorf("the stream needs more than %d parts", maxParts))
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if u.failed() || ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(part int, data []byte) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := u.send(ctx, part, data); err != nil {
				u.fail(err)
				cancel()
			}
			u.release(data)
		}(part, buf[:n])

		size := partSize(base, part+1)
		buf = u.acquire(size)
		var err error
		n, err = io.ReadFull(r, buf)
		if err == io.EOF {
			break
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			u.fail(err)
			break
		}
		if err == io.ErrUnexpectedEOF && n == 0 {
			break
		}
	}
	wg.Wait()
	if err := u.firstErr(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sort.Slice(u.parts, func(i, j int) bool { return *u.parts[i].PartNumber < *u.parts[j].PartNumber })
	_, err := u.s.Client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket: aws.String(u.s.Bucket), Key: u.key, UploadId: u.id,
		MultipartUpload: &s3type.CompletedMultipartUpload{Parts: u.parts},
	})
	return err
}

// send uploads one part. The payload is not hashed for the SigV4
// signature (over HTTPS the SDK skips that anyway): each part carries a
// CRC32C instead, which the server checks, at a fraction of the CPU of a
// second sha256 pass. The whole object's sha256 is vigil's own.
func (u *upload) send(ctx context.Context, part int, data []byte) error {
	sum := crc32.Checksum(data, castagnoli)
	crc := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, sum))
	out, err := u.s.Client.UploadPart(ctx, &awss3.UploadPartInput{
		Bucket: aws.String(u.s.Bucket), Key: u.key, UploadId: u.id, ChecksumCRC32C: aws.String(crc),
		PartNumber: aws.Int32(int32(part)), Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	}, awss3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if err != nil {
		return fmt.Errorf("part %d: %w", part, err)
	}
	u.mu.Lock()
	u.parts = append(u.parts, s3type.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(part)), ChecksumCRC32C: aws.String(crc)})
	u.mu.Unlock()
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// acquire returns a buffer of size, reusing a released one of that size.
func (u *upload) acquire(size int64) []byte {
	for {
		select {
		case b := <-u.buffer:
			if int64(cap(b)) == size {
				return b[:size]
			}
			// Parts grew; let the smaller buffer go.
		default:
			return make([]byte, size)
		}
	}
}

func (u *upload) release(b []byte) {
	select {
	case u.buffer <- b[:cap(b)]:
	default:
	}
}

func (u *upload) fail(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err == nil {
		u.err = err
	}
}

func (u *upload) failed() bool { return u.firstErr() != nil }

func (u *upload) firstErr() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

// abort runs on a context of its own: the upload's may be what failed.
func (u *upload) abort(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := u.s.Client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: aws.String(u.s.Bucket), Key: u.key, UploadId: u.id})
	var nsu *s3type.NoSuchUpload
	if err != nil && !errors.As(err, &nsu) {
		// Left for the next run's store.Janitor pass (AbortUploads).
		_ = err
	}
}
