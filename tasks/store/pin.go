package store

import (
	"context"
)

// Pinner is implemented by stores that keep every version of an object
// (an S3 bucket with versioning, as Object Lock requires): a backup's
// manifest records the version of the object it describes, and restores,
// drills and verify read exactly that version, so an object overwritten
// since (a new version on top of the locked one) neither replaces the
// backup nor breaks it.
//
// Error contract: Version and Head of a missing key (or version) wrap
// ErrNotFound.
type Pinner interface {
	// Version is the current version ID of key ("" when the bucket does
	// not version it).
	Version(ctx context.Context, key string) (string, error)
	// Pin is the store reading key at version (Get, GetRange); every other
	// key and call as before.
	Pin(key, version string) Store
	// Head is the size of key at version.
	Head(ctx context.Context, key, version string) (int64, error)
}
