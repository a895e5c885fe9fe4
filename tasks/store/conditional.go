package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrPrecondition is returned by a conditional write whose condition did
// not hold: the object exists (PutIfAbsent) or changed (PutIfMatch).
var ErrPrecondition = errors.New("precondition failed")

// Versioned is a small object with the version tag a conditional write
// compares (an S3 ETag).
type Versioned struct {
	Body     []byte
	ETag     string
	Modified time.Time
}

// Conditional is implemented by stores that write an object only if it is
// absent, or only if it is the version read (S3's If-None-Match: * and
// If-Match, which AWS S3 and MinIO honour). Standalone runs lock with it.
//
// Error contract: a condition that does not hold is an error wrapping
// ErrPrecondition; GetVersioned of a missing key wraps ErrNotFound.
type Conditional interface {
	PutIfAbsent(ctx context.Context, key string, body []byte) (etag string, err error)
	PutIfMatch(ctx context.Context, key string, body []byte, etag string) (string, error)
	GetVersioned(ctx context.Context, key string) (*Versioned, error)
	DeleteIfMatch(ctx context.Context, key, etag string) error
}

// ReadVersioned reads and closes the body of an object GetVersioned
// fetched, up to 1 MiB: lock objects are a few hundred bytes.
func ReadVersioned(body io.ReadCloser) ([]byte, error) {
	defer body.Close()
	return io.ReadAll(io.LimitReader(body, 1<<20))
}
