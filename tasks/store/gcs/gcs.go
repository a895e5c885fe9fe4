// Package gcs keeps backup objects in a Google Cloud Storage bucket,
// through the official SDK's resumable uploads.
package gcs

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"strings"

	"cloud.google.com/go/storage"
	"github.com/vigil-backup/vigil/tasks/store"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

// ChunkSize is what a resumable upload buffers and sends per request: the
// bound on an upload's memory.
const ChunkSize = 8 << 20

var (
	_ store.Store  = (*Store)(nil)
	_ store.Ranger = (*Store)(nil)
)

// Store is a bucket and a prefix in it.
type Store struct {
	Client *storage.Client
	Bucket string
	Prefix string
}

// NewClient builds a client: from a service account's JSON key when one
// is given (a Vault KV secret), else the SDK's own chain, as gcloud does
// (Application Default Credentials, GOOGLE_APPLICATION_CREDENTIALS, and
// STORAGE_EMULATOR_HOST for an emulator). endpoint, when given, replaces
// https://storage.googleapis.com; a plain http:// one can only be an
// emulator, and is not sent credentials.
func NewClient(ctx context.Context, serviceAccountJSON []byte, endpoint string) (*storage.Client, error) {
	var opts []option.ClientOption
	if len(serviceAccountJSON) > 0 {
		opts = append(opts, option.WithAuthCredentialsJSON(option.ServiceAccount, serviceAccountJSON))
	}
	if endpoint != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimSuffix(endpoint, "/")+"/storage/v1/"))
		if strings.HasPrefix(endpoint, "http://") && len(serviceAccountJSON) == 0 {
			opts = append(opts, option.WithoutAuthentication())
		}
	}
	c, err := storage.NewClient(ctx, opts...)
	if err != nil {
		// The SDK's errors about a key never quote it.
		return nil, fmt.Errorf("store: gcs client: %w", err)
	}
	return c, nil
}

func (s *Store) String() string { return "gs://" + s.Bucket + "/" + s.Prefix }

func (s *Store) where(key string) string { return "gs://" + s.Bucket + "/" + s.Prefix + key }

// Put streams r in a resumable upload: nothing is visible under key until
// the last chunk finalizes it, and GCS rejects the object if its CRC32C
// (the SDK's, sent with the last chunk) differs. The CRC32C vigil counted
// is compared with the stored object's too, since an object small enough
// for one request is not held back by a mismatch; on a difference it is
// deleted. A failed or cancelled Put cancels the upload.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := s.Client.Bucket(s.Bucket).Object(s.Prefix + key).NewWriter(ctx)
	w.ChunkSize = ChunkSize
	w.ContentType = "application/octet-stream"
	sum := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	n, err := io.Copy(io.MultiWriter(w, sum), r)
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("read %d bytes, want %d", n, size)
	}
	if err != nil {
		cancel() // the SDK's way to abandon an upload
		w.Close()
		return fmt.Errorf("store: put %s: %w", s.where(key), err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("store: put %s: %w", s.where(key), err)
	}
	if got := w.Attrs().CRC32C; got != sum.Sum32() {
		s.Client.Bucket(s.Bucket).Object(s.Prefix + key).Delete(context.WithoutCancel(ctx))
		return fmt.Errorf("store: put %s: the stored object's CRC32C is %08x, vigil sent %08x; deleted", s.where(key), got, sum.Sum32())
	}
	return nil
}

func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := s.Client.Bucket(s.Bucket).Object(s.Prefix + key).NewReader(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", s.where(key), notFound(err))
	}
	return r, nil
}

// GetRange implements store.Ranger; the object's size comes with the
// answer.
func (s *Store) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, int64, error) {
	r, err := s.Client.Bucket(s.Bucket).Object(s.Prefix+key).NewRangeReader(ctx, off, n)
	if err != nil {
		return nil, 0, fmt.Errorf("store: get %s (bytes %d-%d): %w", s.where(key), off, off+n-1, notFound(err))
	}
	return r, r.Attrs.Size, nil
}

func (s *Store) List(ctx context.Context, prefix string) ([]store.Object, error) {
	q := &storage.Query{Prefix: s.Prefix + prefix}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Updated"}); err != nil {
		return nil, err
	}
	var out []store.Object
	it := s.Client.Bucket(s.Bucket).Objects(ctx, q)
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("store: list %s: %w", s.where(prefix), err)
		}
		out = append(out, store.Object{Key: strings.TrimPrefix(a.Name, s.Prefix), Size: a.Size, Modified: a.Updated})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.Client.Bucket(s.Bucket).Object(s.Prefix + key).Delete(ctx)
	if err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
		return fmt.Errorf("store: delete %s: %w", s.where(key), err)
	}
	return nil
}

func notFound(err error) error {
	if errors.Is(err, storage.ErrObjectNotExist) {
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}
