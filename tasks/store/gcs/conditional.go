package gcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-backup/vigil/tasks/store"
	"google.golang.org/api/googleapi"
	raw "google.golang.org/api/storage/v1"
)

// A gcs storage holds a standalone run's lock with generation
// preconditions: ifGenerationMatch=0 creates, ifGenerationMatch=N
// replaces or deletes generation N only. The version tag is the
// object's generation.
var _ store.Conditional = (*Store)(nil)

// PutIfAbsent implements store.Conditional.
func (s *Store) PutIfAbsent(ctx context.Context, key string, body []byte) (string, error) {
	return s.putCond(ctx, key, body, 0)
}

// PutIfMatch implements store.Conditional.
func (s *Store) PutIfMatch(ctx context.Context, key string, body []byte, etag string) (string, error) {
	gen, err := generation(etag)
	if err != nil {
		return "", fmt.Errorf("store: put %s: %w", s.where(key), err)
	}
	return s.putCond(ctx, key, body, gen)
}

func (s *Store) putCond(ctx context.Context, key string, body []byte, gen int64) (string, error) {
	obj, err := s.Client.Objects.Insert(s.Bucket, &raw.Object{Name: s.Prefix + key}).IfGenerationMatch(gen).
		Media(bytes.NewReader(body), googleapi.ContentType("application/octet-stream"), googleapi.EnableAutoChecksum()).Context(ctx).Do()
	if err != nil {
		return "", s.condError("put", key, err)
	}
	return strconv.FormatInt(obj.Generation, 10), nil
}

// GetVersioned implements store.Conditional. It reads the object's
// metadata, then that generation's bytes, so the body and the tag agree.
func (s *Store) GetVersioned(ctx context.Context, key string) (*store.Versioned, error) {
	meta, err := s.Client.Objects.Get(s.Bucket, s.Prefix+key).Fields("generation", "updated").Context(ctx).Do()
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", s.where(key), notFound(err))
	}
	resp, err := s.Client.Objects.Get(s.Bucket, s.Prefix+key).Generation(meta.Generation).Context(ctx).Download()
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", s.where(key), notFound(err))
	}
	b, err := store.ReadVersioned(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", s.where(key), err)
	}
	mod, _ := time.Parse(time.RFC3339Nano, meta.Updated)
	return &store.Versioned{Body: b, ETag: strconv.FormatInt(meta.Generation, 10), Modified: mod}, nil
}

// DeleteIfMatch implements store.Conditional; an object already gone is
// not an error. The delete names the generation as well as the
// precondition: GCS deletes nothing else either way, and an emulator that
// ignores the precondition on deletes still honours the generation.
func (s *Store) DeleteIfMatch(ctx context.Context, key, etag string) error {
	gen, err := generation(etag)
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", s.where(key), err)
	}
	err = s.Client.Objects.Delete(s.Bucket, s.Prefix+key).Generation(gen).IfGenerationMatch(gen).Context(ctx).Do()
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return s.condError("delete", key, err)
	}
	// Not found: the object is gone, or generation gen is.
	v, gerr := s.GetVersioned(ctx, key)
	switch {
	case errors.Is(gerr, store.ErrNotFound):
		return nil
	case gerr != nil:
		return gerr
	case v.ETag != etag:
		return fmt.Errorf("store: delete %s: %w", s.where(key), store.ErrPrecondition)
	}
	return fmt.Errorf("store: delete %s: generation %s was not found, yet is the object's", s.where(key), etag)
}

func generation(etag string) (int64, error) {
	gen, err := strconv.ParseInt(etag, 10, 64)
	if err != nil || gen <= 0 {
		return 0, fmt.Errorf("version %q is not a GCS generation: %w", etag, store.ErrPrecondition)
	}
	return gen, nil
}

// condError maps GCS's 412 to store.ErrPrecondition.
func (s *Store) condError(op, key string, err error) error {
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == http.StatusPreconditionFailed {
		return fmt.Errorf("store: %s %s: %w", op, s.where(key), store.ErrPrecondition)
	}
	return fmt.Errorf("store: %s %s: %w", op, s.where(key), err)
}
