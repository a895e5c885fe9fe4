package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/vigil-backup/vigil/tasks/store"
)

// An azure storage holds a standalone run's lock with Blob Storage's
// conditional headers: If-None-Match: * to create, If-Match: ETag to
// replace or delete.
var _ store.Conditional = (*Store)(nil)

// PutIfAbsent implements store.Conditional.
func (s *Store) PutIfAbsent(ctx context.Context, key string, body []byte) (string, error) {
	return s.putCond(ctx, key, body, &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)})
}

// PutIfMatch implements store.Conditional.
func (s *Store) PutIfMatch(ctx context.Context, key string, body []byte, etag string) (string, error) {
	return s.putCond(ctx, key, body, &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcore.ETag(etag))})
}

func (s *Store) putCond(ctx context.Context, key string, body []byte, cond *blob.ModifiedAccessConditions) (string, error) {
	resp, err := s.Client.UploadBuffer(ctx, s.Container, s.Prefix+key, body, &azblob.UploadBufferOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: cond},
		HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: to.Ptr("application/octet-stream")},
	})
	if err != nil {
		return "", s.condError("put", key, err)
	}
	if resp.ETag == nil {
		return "", fmt.Errorf("store: put %s: the answer has no ETag", s.where(key))
	}
	return string(*resp.ETag), nil
}

// GetVersioned implements store.Conditional.
func (s *Store) GetVersioned(ctx context.Context, key string) (*store.Versioned, error) {
	resp, err := s.Client.DownloadStream(ctx, s.Container, s.Prefix+key, nil)
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", s.where(key), notFound(err))
	}
	b, err := store.ReadVersioned(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", s.where(key), err)
	}
	v := &store.Versioned{Body: b}
	if resp.ETag != nil {
		v.ETag = string(*resp.ETag)
	}
	if resp.LastModified != nil {
		v.Modified = *resp.LastModified
	}
	return v, nil
}

// DeleteIfMatch implements store.Conditional; a blob already gone is
// not an error (If-Match on a missing blob answers 412, so a failed
// condition is told apart from a blob gone by reading it).
func (s *Store) DeleteIfMatch(ctx context.Context, key, etag string) error {
	_, err := s.Client.DeleteBlob(ctx, s.Container, s.Prefix+key, &azblob.DeleteBlobOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcore.ETag(etag))}},
	})
	if err == nil || bloberror.HasCode(err, bloberror.BlobNotFound) {
		return nil
	}
	cerr := s.condError("delete", key, err)
	if errors.Is(cerr, store.ErrPrecondition) {
		if _, gerr := s.GetVersioned(ctx, key); errors.Is(gerr, store.ErrNotFound) {
			return nil
		}
	}
	return cerr
}

// condError maps a condition that did not hold (412, or 409 when the
// blob already exists) to store.ErrPrecondition.
func (s *Store) condError(op, key string, err error) error {
	var re *azcore.ResponseError
	if bloberror.HasCode(err, bloberror.ConditionNotMet, bloberror.BlobAlreadyExists) ||
		errors.As(err, &re) && (re.StatusCode == http.StatusPreconditionFailed || re.StatusCode == http.StatusConflict) {
		return fmt.Errorf("store: %s %s: %w", op, s.where(key), store.ErrPrecondition)
	}
	return fmt.Errorf("store: %s %s: %w", op, s.where(key), err)
}
