// Package store is where backup objects go: the Store interface and its
// error contract, the optional abilities a store may have (ranges, object
// lock, versions, conditional writes), and the ranged downloader they
// share. Each backend has its own package: s3, local, gcs and azure.
package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned by Get for a key that does not exist.
var ErrNotFound = errors.New("object not found")

// Object describes a stored object.
type Object struct {
	Key      string
	Size     int64
	Modified time.Time
}

// Store is where backups go. Keys are slash-separated and relative to the
// store's own prefix or folder.
//
// Error contract:
//   - Put makes an object visible only if it returns nil. When it returns an
//     error, or ctx is cancelled, nothing is left under key: a partial upload
//     is aborted, a partial file removed. Put never replaces an object with
//     a partial one.
//   - Get returns an error wrapping ErrNotFound when key does not exist.
//   - List returns only complete objects, sorted by key.
//   - Delete of a missing key is not an error.
type Store interface {
	// Put streams r to key. size is the exact length when known, or -1.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	List(ctx context.Context, prefix string) ([]Object, error)
	Delete(ctx context.Context, key string) error
	// String names the store for logs and errors: s3://bucket/prefix or a path.
	String() string
}

// Janitor is implemented by stores that can hold incomplete uploads (S3
// multipart uploads), so runs can clean up after runs that crashed.
type Janitor interface {
	// AbortUploads aborts incomplete uploads whose key starts with prefix
	// and that started before the cutoff. Some servers (MinIO) only list
	// uploads of an exact key; pass the full key when it is known.
	AbortUploads(ctx context.Context, prefix string, before time.Time) error
}

// TempCleaner is implemented by stores whose unfinished writes leave files
// behind when the writer is killed (a local folder's temp files).
type TempCleaner interface {
	// RemoveTemp removes the unfinished writes under prefix last
	// modified before the cutoff.
	RemoveTemp(ctx context.Context, prefix string, before time.Time) error
}

// Retention is an object lock: the object can be neither deleted nor
// overwritten (its version) before Until.
type Retention struct {
	// Mode is GOVERNANCE or COMPLIANCE.
	Mode  string
	Until time.Time
}

// ErrLocked marks a delete the store refused because the object is still
// locked: not a failure of retention, which tries again on a later run.
var ErrLocked = errors.New("the object is locked until its retain-until date")

// Retainer is implemented by stores that can lock what they write (S3
// Object Lock).
type Retainer interface {
	// PutRetained is Put with the object locked as ret says.
	PutRetained(ctx context.Context, key string, r io.Reader, size int64, ret Retention) error
}

// Buffering is implemented by stores whose Put of a stream holds buffers
// of its own in the Go heap (parts or chunks in flight): a run that fans
// out to several stores holds all of theirs at once, and sizes its soft
// memory limit by PutBuffers. Buffers outside the heap (azblob's mmap'd
// blocks) do not count against that limit and are left out.
type Buffering interface {
	// PutBuffer is what one Put of a stream of unknown length holds at
	// most in its heap buffers, in bytes.
	PutBuffer() int64
}

// PutBuffers is what a stream to every one of stores holds in their
// buffers beyond the largest one's: the extra memory of fanning out.
func PutBuffers(stores []Store) int64 {
	var sum, largest int64
	for _, s := range stores {
		if b, ok := s.(Buffering); ok {
			n := b.PutBuffer()
			sum += n
			largest = max(largest, n)
		}
	}
	return sum - largest
}

// CountingReader counts what passes through it: a store that streams an
// upload of unknown length checks the count against the size it was told.
type CountingReader struct {
	R io.Reader
	N int64
}

func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}
