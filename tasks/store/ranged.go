package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3type "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Ranger is implemented by stores that can read part of an object, so a
// large object can be read with several requests in flight (Download).
//
// Error contract: as Get (ErrNotFound for a missing key). GetRange returns
// up to n bytes from off, and the whole object's size as the store knows
// it, so a reader can tell an object of the wrong size before it reads it.
type Ranger interface {
	GetRange(ctx context.Context, key string, off, n int64) (body io.ReadCloser, objectSize int64, err error)
}

var (
	_ Ranger = (*S3)(nil)
	_ Ranger = (*Local)(nil)
)

// GetRange implements Ranger with an HTTP range request; the object's
// size comes from the response's Content-Range.
func (s *S3) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, int64, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1)), VersionId: s.versionOf(key)})
	if err != nil {
		var nsk *s3type.NoSuchKey
		if errors.As(err, &nsk) {
			err = ErrNotFound
		}
		return nil, 0, fmt.Errorf("store: get s3://%s/%s%s (bytes %d-%d): %w", s.Bucket, s.Prefix, key, off, off+n-1, err)
	}
	total, err := ContentRangeTotal(aws.ToString(out.ContentRange))
	if err != nil {
		out.Body.Close()
		return nil, 0, fmt.Errorf("store: get s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	return out.Body, total, nil
}

// ContentRangeTotal reads an object's size from a range answer's
// Content-Range, "bytes 0-99/1234".
func ContentRangeTotal(cr string) (int64, error) {
	i := strings.LastIndexByte(cr, '/')
	if i < 0 || !strings.HasPrefix(cr, "bytes ") {
		return 0, fmt.Errorf("the answer to a range request has no usable Content-Range (%q)", cr)
	}
	total, err := strconv.ParseInt(cr[i+1:], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("the answer to a range request has no usable Content-Range (%q)", cr)
	}
	return total, nil
}

// GetRange implements Ranger on a file.
func (l *Local) GetRange(_ context.Context, key string, off, n int64) (io.ReadCloser, int64, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("store: get %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: get %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("store: get %s: %w", key, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, off, n), f}, st.Size(), nil
}
