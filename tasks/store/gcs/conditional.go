package gcs

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"

	"cloud.google.com/go/storage"
	"github.com/vigil-backup/vigil/tasks/store"
	"google.golang.org/api/googleapi"
)

// A gcs storage holds a standalone run's lock with generation
// preconditions: ifGenerationMatch=0 creates, ifGenerationMatch=N
// replaces or deletes generation N only. The version tag is the
// object's generation.
var _ store.Conditional = (*Store)(nil)

// PutIfAbsent implements store.Conditional.
func (s *Store) PutIfAbsent(ctx context.Context, key string, body []byte) (string, error) {
	return s.putCond(ctx, key, body, storage.Conditions{DoesNotExist: true})
}

// PutIfMatch implements store.Conditional.
func (s *Store) PutIfMatch(ctx context.Context, key string, body []byte, etag string) (string, error) {
	gen, err := generation(etag)
	if err != nil {
		return "", fmt.Errorf("store: put %s: %w", s.where(key), err)
	}
	return s.putCond(ctx, key, body, storage.Conditions{GenerationMatch: gen})
}

// putCond writes a small body in one request that declares its CRC32C,
// so GCS checks it; the precondition makes the write safe to retry.
func (s *Store) putCond(ctx context.Context, key string, body []byte, cond storage.Conditions) (string, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := s.object(key).If(cond).NewWriter(wctx)
	w.ChunkSize = 0
	w.ContentType = "application/octet-stream"
	w.CRC32C, w.SendCRC32C = crc32.Checksum(body, castagnoli), true
	if _, err := w.Write(body); err != nil {
		cancel()
		w.Close()
		return "", s.condError("put", key, err)
	}
	if err := w.Close(); err != nil {
		return "", s.condError("put", key, err)
	}
	return strconv.FormatInt(w.Attrs().Generation, 10), nil
}

// GetVersioned implements store.Conditional. It reads the object's
// metadata, then that generation's bytes, so the body and the tag agree.
func (s *Store) GetVersioned(ctx context.Context, key string) (*store.Versioned, error) {
	attrs, err := s.object(key).Attrs(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", s.where(key), notFound(err))
	}
	r, err := s.object(key).Generation(attrs.Generation).NewReader(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", s.where(key), notFound(err))
	}
	b, err := store.ReadVersioned(r)
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", s.where(key), err)
	}
	return &store.Versioned{Body: b, ETag: strconv.FormatInt(attrs.Generation, 10), Modified: attrs.Updated}, nil
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
	err = s.object(key).Generation(gen).If(storage.Conditions{GenerationMatch: gen}).Delete(ctx)
	if err == nil {
		return nil
	}
	if !errors.Is(err, storage.ErrObjectNotExist) {
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
