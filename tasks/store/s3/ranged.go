package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3type "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/vigil-backup/vigil/tasks/store"
)

var _ store.Ranger = (*Store)(nil)

// GetRange implements Ranger with an HTTP range request; the object's
// size comes from the response's Content-Range.
func (s *Store) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, int64, error) {
	out, err := s.Client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1)), VersionId: s.versionOf(key)})
	if err != nil {
		var nsk *s3type.NoSuchKey
		if errors.As(err, &nsk) {
			err = store.ErrNotFound
		}
		return nil, 0, fmt.Errorf("store: get s3://%s/%s%s (bytes %d-%d): %w", s.Bucket, s.Prefix, key, off, off+n-1, err)
	}
	total, err := store.ContentRangeTotal(aws.ToString(out.ContentRange))
	if err != nil {
		out.Body.Close()
		return nil, 0, fmt.Errorf("store: get s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	return out.Body, total, nil
}
