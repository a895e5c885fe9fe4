package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3type "github.com/aws/aws-sdk-go-v2/service/s3/types"
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

var _ Pinner = (*S3)(nil)

// Version implements Pinner.
func (s *S3) Version(ctx context.Context, key string) (string, error) {
	out, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key)})
	if err != nil {
		return "", fmt.Errorf("store: head s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, notFound(err))
	}
	if v := aws.ToString(out.VersionId); v != "null" {
		return v, nil
	}
	return "", nil
}

// Head implements Pinner.
func (s *S3) Head(ctx context.Context, key, version string) (int64, error) {
	out, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key), VersionId: aws.String(version)})
	if err != nil {
		return 0, fmt.Errorf("store: head s3://%s/%s%s version %s: %w", s.Bucket, s.Prefix, key, version, notFound(err))
	}
	return aws.ToInt64(out.ContentLength), nil
}

// Pin implements Pinner.
func (s *S3) Pin(key, version string) Store {
	c := *s
	c.pins = make(map[string]string, len(s.pins)+1)
	for k, v := range s.pins {
		c.pins[k] = v
	}
	c.pins[key] = version // the newest pin of a key wins
	return &c
}

// versionOf is the pinned version of key, or nil.
func (s *S3) versionOf(key string) *string {
	if v, ok := s.pins[key]; ok && v != "" {
		return aws.String(v)
	}
	return nil
}

// notFound maps S3's answers for a missing key or version to ErrNotFound.
func notFound(err error) error {
	var nsk *s3type.NoSuchKey
	var nf *s3type.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}
