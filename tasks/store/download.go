package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"
)

// Download tuning. Memory is (Concurrency+1) × PartSize: the parts in
// flight, and the one being consumed.
const (
	// DefaultDownloadPartSize: S3's smallest multipart part. Larger parts
	// cost MinIO less CPU per object (8 MiB: about a fifth less than 4
	// MiB) but hold more memory: with the default 3 requests on 2 cores,
	// 8 MiB parts took a restore's peak RSS to 70 MiB, 5 MiB ones keep it
	// under 64 MiB.
	DefaultDownloadPartSize = 5 << 20
	maxDownloadConcurrency  = 16
	// partAttempts is how often one range request is tried: a reset
	// connection costs one part again, not the whole restore.
	partAttempts = 3
)

// DefaultDownloadConcurrency is the range requests kept in flight: one
// more than the cores, at least 3 (on loopback a 2-core machine is CPU
// bound beyond that) and at most 8 (45 MiB of parts; a larger machine on
// a fast link sets download_concurrency up to 16).
func DefaultDownloadConcurrency() int {
	return min(max(runtime.NumCPU()+1, 3), 8)
}

// DownloadOptions tune Download; zero values take the defaults.
type DownloadOptions struct {
	Concurrency int
	PartSize    int64
}

func (o DownloadOptions) withDefaults() DownloadOptions {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultDownloadConcurrency()
	}
	o.Concurrency = min(o.Concurrency, maxDownloadConcurrency)
	if o.PartSize <= 0 {
		o.PartSize = DefaultDownloadPartSize
	}
	return o
}

// Download reads the object key, expected to be size bytes long, ahead of
// its consumer: with range requests in flight in parallel, reassembled in
// order, where the store supports them (Ranger) and the object is larger
// than one part; otherwise with one request read ahead in a goroutine.
//
// Download checks nothing of the bytes themselves; the caller hashes what
// it reads. When the store's object is not size bytes long, Download
// reads it whole with Get, so the caller's check sees and names the
// difference exactly as it would without ranges.
func Download(ctx context.Context, s Store, key string, size int64, o DownloadOptions) (io.ReadCloser, error) {
	o = o.withDefaults()
	r, ok := s.(Ranger)
	if !ok || size <= o.PartSize || o.Concurrency < 2 {
		return readAheadGet(ctx, s, key)
	}
	first, total, err := r.GetRange(ctx, key, 0, o.PartSize)
	if err != nil {
		return nil, err
	}
	if total != size {
		first.Close()
		return readAheadGet(ctx, s, key)
	}
	return newParallelReader(ctx, r, key, size, o, first), nil
}

func readAheadGet(ctx context.Context, s Store, key string) (io.ReadCloser, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	ra := newReadAhead(rc)
	return closers{ra, func() error { ra.Close(); return rc.Close() }}, nil
}

type closers struct {
	io.Reader
	close func() error
}

func (c closers) Close() error { return c.close() }

// parallelReader hands out an object's parts in order while later parts
// are fetched. A part's result travels on its own channel; the channels
// queue in part order, so the consumer waits only for the next part.
type parallelReader struct {
	cancel context.CancelFunc
	frees  []func()
	order  chan chan part
	free   chan []byte
	wg     sync.WaitGroup
	full   []byte // the part being consumed, to hand back
	cur    []byte // what is left of it
	err    error
}

type part struct {
	buf []byte
	err error
}

func newParallelReader(ctx context.Context, r Ranger, key string, size int64, o DownloadOptions, first io.ReadCloser) *parallelReader {
	ctx, cancel := context.WithCancel(ctx)
	pr := &parallelReader{
		cancel: cancel,
		order:  make(chan chan part, o.Concurrency),
		free:   make(chan []byte, o.Concurrency+1),
	}
	for i := 0; i < o.Concurrency+1; i++ {
		buf, free := partBuffer(int(o.PartSize))
		pr.free <- buf
		pr.frees = append(pr.frees, free)
	}
	pr.wg.Add(1)
	go pr.dispatch(ctx, r, key, size, o.PartSize, first)
	return pr
}

// dispatch starts one fetch per part as buffers come free: the buffers,
// not a separate semaphore, bound both memory and requests in flight.
func (pr *parallelReader) dispatch(ctx context.Context, r Ranger, key string, size, partSize int64, first io.ReadCloser) {
	defer pr.wg.Done()
	defer close(pr.order)
	for off := int64(0); off < size; off += partSize {
		var buf []byte
		select {
		case buf = <-pr.free:
		case <-ctx.Done():
			if first != nil {
				first.Close()
			}
			return
		}
		buf = buf[:min(partSize, size-off)]
		res := make(chan part, 1)
		select {
		case pr.order <- res:
		case <-ctx.Done():
			if first != nil {
				first.Close()
			}
			return
		}
		body := first
		first = nil
		pr.wg.Add(1)
		go func(off int64) {
			defer pr.wg.Done()
			res <- part{buf, fetchPart(ctx, r, key, off, buf, body)}
		}(off)
	}
}

// fetchPart fills buf from off, trying again on a failed or cut request.
// body, when not nil, is an answer already open for this part.
func fetchPart(ctx context.Context, r Ranger, key string, off int64, buf []byte, body io.ReadCloser) error {
	var err error
	for attempt := 1; ; attempt++ {
		if body == nil {
			body, _, err = r.GetRange(ctx, key, off, int64(len(buf)))
		}
		if body != nil {
			_, err = io.ReadFull(body, buf)
			body.Close()
			body = nil
		}
		if err == nil || ctx.Err() != nil || errors.Is(err, ErrNotFound) || attempt == partAttempts {
			if err != nil && ctx.Err() == nil {
				err = fmt.Errorf("store: read %s bytes %d-%d (%d attempts): %w", key, off, off+int64(len(buf))-1, attempt, err)
			}
			return err
		}
		select {
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (pr *parallelReader) Read(p []byte) (int, error) {
	for len(pr.cur) == 0 {
		if pr.err != nil {
			return 0, pr.err
		}
		if pr.full != nil {
			pr.free <- pr.full[:cap(pr.full)]
			pr.full = nil
		}
		res, ok := <-pr.order
		if !ok {
			pr.err = io.EOF
			return 0, io.EOF
		}
		pt := <-res
		if pt.err != nil {
			pr.err = pt.err
			return 0, pt.err
		}
		pr.full, pr.cur = pt.buf, pt.buf
	}
	n := copy(p, pr.cur)
	pr.cur = pr.cur[n:]
	return n, nil
}

// WriteTo hands whole parts to w: no copy through a small buffer, and one
// write per part rather than one per 32 KiB.
func (pr *parallelReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(pr.cur) > 0 {
			n, err := w.Write(pr.cur)
			total += int64(n)
			pr.cur = pr.cur[n:]
			if err != nil {
				return total, err
			}
		}
		// Read with an empty p fetches the next part into cur.
		if _, err := pr.Read(nil); err == io.EOF {
			return total, nil
		} else if err != nil {
			return total, err
		}
	}
}

// errClosed is what a read after Close gets.
var errClosed = errors.New("store: read of a closed download")

// Close stops the fetches in flight, waits for them and frees the parts.
func (pr *parallelReader) Close() error {
	pr.cancel()
	pr.wg.Wait()
	if pr.frees != nil {
		pr.full, pr.cur, pr.err = nil, nil, errClosed
		for _, free := range pr.frees {
			free()
		}
		pr.frees = nil
	}
	return nil
}
