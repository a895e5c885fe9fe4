package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3type "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
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

var _ Conditional = (*S3)(nil)

// ReadVersioned reads and closes the body of an object GetVersioned
// fetched, up to 1 MiB: lock objects are a few hundred bytes.
func ReadVersioned(body io.ReadCloser) ([]byte, error) {
	defer body.Close()
	return io.ReadAll(io.LimitReader(body, 1<<20))
}

func (s *S3) putCond(ctx context.Context, key string, body []byte, ifNoneMatch, ifMatch *string) (string, error) {
	in := &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), IfNoneMatch: ifNoneMatch, IfMatch: ifMatch}
	if s.SSE != "" {
		in.ServerSideEncryption = s3type.ServerSideEncryption(s.SSE)
	}
	out, err := s.Client.PutObject(ctx, in)
	if err != nil {
		return "", s.condError("put", key, err)
	}
	return aws.ToString(out.ETag), nil
}

// PutIfAbsent implements Conditional.
func (s *S3) PutIfAbsent(ctx context.Context, key string, body []byte) (string, error) {
	return s.putCond(ctx, key, body, aws.String("*"), nil)
}

// PutIfMatch implements Conditional.
func (s *S3) PutIfMatch(ctx context.Context, key string, body []byte, etag string) (string, error) {
	return s.putCond(ctx, key, body, nil, aws.String(etag))
}

// GetVersioned implements Conditional.
func (s *S3) GetVersioned(ctx context.Context, key string) (*Versioned, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key)})
	if err != nil {
		var nsk *s3type.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("store: get s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, ErrNotFound)
		}
		return nil, fmt.Errorf("store: get s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	b, err := ReadVersioned(out.Body)
	if err != nil {
		return nil, fmt.Errorf("store: get s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	return &Versioned{Body: b, ETag: aws.ToString(out.ETag), Modified: aws.ToTime(out.LastModified)}, nil
}

// DeleteIfMatch implements Conditional. The tag is checked first and the
// delete carries it again: MinIO accepts If-Match on a delete and ignores
// it (the shared suite caught a lock's release deleting the next
// holder's lock), while AWS S3 checks it on the delete itself. A store
// that refuses conditional deletes gets the check and a plain delete.
func (s *S3) DeleteIfMatch(ctx context.Context, key, etag string) error {
	h, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key)})
	var nf *s3type.NotFound
	switch {
	case errors.As(err, &nf):
		return nil
	case err != nil:
		return fmt.Errorf("store: delete s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	case aws.ToString(h.ETag) != etag:
		return fmt.Errorf("store: delete s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, ErrPrecondition)
	}
	_, err = s.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key), IfMatch: aws.String(etag)})
	if err == nil {
		return nil
	}
	if cerr := s.condError("delete", key, err); errors.Is(cerr, ErrPrecondition) {
		return cerr
	}
	return s.Delete(ctx, key)
}

// condError maps S3's 412 (and the 409 of a concurrent conditional write)
// to ErrPrecondition.
func (s *S3) condError(op, key string, err error) error {
	var re interface{ HTTPStatusCode() int }
	var ae smithy.APIError
	if errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusPreconditionFailed || re.HTTPStatusCode() == http.StatusConflict) ||
		errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict") {
		return fmt.Errorf("store: %s s3://%s/%s%s: %w", op, s.Bucket, s.Prefix, key, ErrPrecondition)
	}
	return fmt.Errorf("store: %s s3://%s/%s%s: %w", op, s.Bucket, s.Prefix, key, err)
}
