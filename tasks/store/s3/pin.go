package s3

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3type "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/vigil-backup/vigil/tasks/store"
)

var _ store.Pinner = (*Store)(nil)

// Version implements Pinner.
func (s *Store) Version(ctx context.Context, key string) (string, error) {
	out, err := s.Client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key)})
	if err != nil {
		return "", fmt.Errorf("store: head s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, notFound(err))
	}
	if v := aws.ToString(out.VersionId); v != "null" {
		return v, nil
	}
	return "", nil
}

// Head implements Pinner.
func (s *Store) Head(ctx context.Context, key, version string) (int64, error) {
	out, err := s.Client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key), VersionId: aws.String(version)})
	if err != nil {
		return 0, fmt.Errorf("store: head s3://%s/%s%s version %s: %w", s.Bucket, s.Prefix, key, version, notFound(err))
	}
	return aws.ToInt64(out.ContentLength), nil
}

// Pin implements Pinner.
func (s *Store) Pin(key, version string) store.Store {
	c := *s
	c.pins = make(map[string]string, len(s.pins)+1)
	for k, v := range s.pins {
		c.pins[k] = v
	}
	c.pins[key] = version // the newest pin of a key wins
	return &c
}

// versionOf is the pinned version of key, or nil.
func (s *Store) versionOf(key string) *string {
	if v, ok := s.pins[key]; ok && v != "" {
		return aws.String(v)
	}
	return nil
}

// notFound maps S3's answers for a missing key or version to store.ErrNotFound.
func notFound(err error) error {
	var nsk *s3type.NoSuchKey
	var nf *s3type.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}
