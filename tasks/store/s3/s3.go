// Package s3 keeps backup objects in an S3 bucket (AWS S3, MinIO, any
// S3-compatible store) through aws-sdk-go-v2: streamed multipart uploads
// with per-part CRC32C, ranged reads, Object Lock, versions and
// conditional writes.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3type "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/vigil-backup/vigil/tasks/store"
)

// S3 is a Store in an S3 bucket under a prefix.
type Store struct {
	Client *awss3.Client
	Bucket string
	// Prefix ends in "/" or is empty.
	Prefix string
	// SSE is the server-side encryption to request ("AES256", "aws:kms").
	SSE string
	// PartSize is the first multipart part size (at least MinPartSize);
	// Concurrency the parts in flight at once.
	PartSize    int64
	Concurrency int
	// Versioned makes Delete remove every version of a key: a bucket with
	// Object Lock keeps versions, and a plain delete only hides them.
	Versioned bool
	// pins are the keys read at a version (Pin).
	pins map[string]string
}

var _ store.Store = (*Store)(nil)

func (s *Store) String() string { return "s3://" + s.Bucket + "/" + s.Prefix }

// Put implements Store with a streaming multipart upload (upload.go).
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := s.putStream(ctx, key, r, size, nil); err != nil {
		return fmt.Errorf("store: put s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	return nil
}

var _ store.Retainer = (*Store)(nil)

// PutRetained implements store.Retainer with S3 Object Lock.
func (s *Store) PutRetained(ctx context.Context, key string, r io.Reader, size int64, ret store.Retention) error {
	if err := s.putStream(ctx, key, r, size, &ret); err != nil {
		return fmt.Errorf("store: put s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	return nil
}

// Get implements Store.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.Client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key), VersionId: s.versionOf(key)})
	if err != nil {
		var nsk *s3type.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("store: get s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, store.ErrNotFound)
		}
		return nil, fmt.Errorf("store: get s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	return out.Body, nil
}

// List implements Store.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Object, error) {
	var out []store.Object
	p := awss3.NewListObjectsV2Paginator(s.Client, &awss3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(s.Prefix + prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("store: list s3://%s/%s%s: %w", s.Bucket, s.Prefix, prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, store.Object{Key: aws.ToString(o.Key)[len(s.Prefix):], Size: aws.ToInt64(o.Size), Modified: aws.ToTime(o.LastModified)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete implements Store. In a versioned bucket every version of the key
// goes (and its delete markers); a locked version is refused by S3, and
// the error wraps store.ErrLocked.
func (s *Store) Delete(ctx context.Context, key string) error {
	fail := func(err error) error {
		if isLocked(err) {
			err = fmt.Errorf("%w: %v", store.ErrLocked, err)
		}
		return fmt.Errorf("store: delete s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	if !s.Versioned {
		if _, err := s.Client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key)}); err != nil {
			return fail(err)
		}
		return nil
	}
	full := s.Prefix + key
	p := awss3.NewListObjectVersionsPaginator(s.Client, &awss3.ListObjectVersionsInput{Bucket: aws.String(s.Bucket), Prefix: aws.String(full)})
	var versions []*string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fail(err)
		}
		for _, v := range page.Versions {
			if aws.ToString(v.Key) == full {
				versions = append(versions, v.VersionId)
			}
		}
		for _, m := range page.DeleteMarkers {
			if aws.ToString(m.Key) == full {
				versions = append(versions, m.VersionId)
			}
		}
	}
	for _, v := range versions {
		if _, err := s.Client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(full), VersionId: v}); err != nil {
			return fail(err)
		}
	}
	return nil
}

// isLocked reports an S3 refusal to delete a locked object version.
func isLocked(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := ae.ErrorCode() + " " + ae.ErrorMessage()
		return strings.Contains(msg, "WORM") || strings.Contains(msg, "retention") || strings.Contains(msg, "ObjectLocked") || ae.ErrorCode() == "AccessDenied" && strings.Contains(ae.ErrorMessage(), "lock")
	}
	return false
}

var _ store.Janitor = (*Store)(nil)

// AbortUploads implements store.Janitor: a run killed mid-upload (kill -9)
// cannot abort its own multipart upload, so the next run does.
func (s *Store) AbortUploads(ctx context.Context, prefix string, before time.Time) error {
	p := awss3.NewListMultipartUploadsPaginator(s.Client, &awss3.ListMultipartUploadsInput{Bucket: aws.String(s.Bucket), Prefix: aws.String(s.Prefix + prefix)})
	var errs []error
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("store: list uploads s3://%s/%s%s: %w", s.Bucket, s.Prefix, prefix, err)
		}
		for _, u := range page.Uploads {
			if u.Initiated != nil && u.Initiated.After(before) {
				continue
			}
			if _, err := s.Client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: aws.String(s.Bucket), Key: u.Key, UploadId: u.UploadId}); err != nil {
				errs = append(errs, fmt.Errorf("store: abort upload of %s: %w", aws.ToString(u.Key), err))
			}
		}
	}
	return errors.Join(errs...)
}
