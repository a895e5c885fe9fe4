// Package gcs keeps backup objects in a Google Cloud Storage bucket,
// through the official Go SDK (cloud.google.com/go/storage) over its JSON
// API. Its package init costs 2.4 MiB of heap; the rest of what it brings
// is code, whose pages vigil gives back once set up (cmd/vigil/pages_linux.go).
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

// ChunkSize is what a resumable upload buffers and sends per request,
// and aheadChunks × aheadSize what is read from the stream meanwhile: the
// SDK sends a chunk before it reads the next, so without reading ahead
// every other copy of a fanned-out stream waited for each chunk's round
// trip. Half the SDK's own 16 MiB default, so the two together hold about
// what the one chunk held.
const (
	ChunkSize   = 8 << 20
	aheadChunks = 8
	aheadSize   = 1 << 20
)

var (
	_ store.Store     = (*Store)(nil)
	_ store.Ranger    = (*Store)(nil)
	_ store.Buffering = (*Store)(nil)
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Store is a bucket and a prefix in it.
type Store struct {
	Client *storage.Client
	Bucket string
	Prefix string
}

// NewClient builds a client: from a service account's JSON key when one
// is given (a Vault KV secret), else the SDK's own chain, as gcloud does
// (Application Default Credentials, GOOGLE_APPLICATION_CREDENTIALS), and
// the SDK's emulator switch, STORAGE_EMULATOR_HOST. endpoint, when given,
// replaces https://storage.googleapis.com; a plain http:// one can only be
// an emulator, and is sent no credentials. Reads go through the JSON API,
// as everything else does, and the SDK's metrics export to Cloud
// Monitoring is off: a backup tool does not report home.
func NewClient(ctx context.Context, serviceAccountJSON []byte, endpoint string) (*storage.Client, error) {
	opts := []option.ClientOption{storage.WithJSONReads(), storage.WithDisabledClientMetrics()}
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
		// The library's errors about a key never quote it.
		return nil, fmt.Errorf("store: gcs client: %w", err)
	}
	return c, nil
}

// PutBuffer implements store.Buffering: the chunk being sent and what is
// read ahead meanwhile.
func (s *Store) PutBuffer() int64 { return ChunkSize + (aheadChunks+1)*aheadSize }

func (s *Store) String() string { return "gs://" + s.Bucket + "/" + s.Prefix }

func (s *Store) where(key string) string { return "gs://" + s.Bucket + "/" + s.Prefix + key }

func (s *Store) object(key string) *storage.ObjectHandle {
	return s.Client.Bucket(s.Bucket).Object(s.Prefix + key)
}

// Put streams r in a resumable upload (one request when it fits in a
// chunk): nothing is visible under key until the last chunk finalizes it,
// and a failed or cancelled Put never finalizes: on any error before the
// end, the upload's context is cancelled before the writer is closed. The
// whole object's CRC32C goes with the request that finalizes it (the SDK's
// automatic checksum: X-Goog-Hash on a resumable upload's last chunk, the
// object's crc32c on a single request), so GCS refuses to create an object
// whose bytes differ from what left vigil; a stream's checksum cannot be
// known before its first byte. The CRC32C vigil counted is also compared
// with the stored object's, for a server that does not check; on a
// difference the object is deleted and Put fails.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	sum := crc32.New(castagnoli)
	if size < 0 {
		// A stream (a pipe from the fan-out) is read ahead; its writer
		// closes it when Put returns, which ends the reading goroutine.
		ahead := store.NewReadAhead(r, aheadChunks, aheadSize)
		defer ahead.Close()
		r = ahead
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := s.object(key).NewWriter(wctx)
	w.ChunkSize = ChunkSize
	w.ContentType = "application/octet-stream"
	n, err := io.Copy(w, io.TeeReader(r, sum))
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("read %d bytes, want %d", n, size)
	}
	if err != nil {
		cancel() // Close after a cancel abandons the upload unfinished.
		w.Close()
		return fmt.Errorf("store: put %s: %w", s.where(key), err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("store: put %s: %w", s.where(key), err)
	}
	if got := w.Attrs().CRC32C; got != sum.Sum32() {
		s.Delete(context.WithoutCancel(ctx), key)
		return fmt.Errorf("store: put %s: the stored object's CRC32C is %08x, vigil sent %08x; deleted", s.where(key), got, sum.Sum32())
	}
	return nil
}

// Get reads the whole object; the SDK checks its CRC32C at the end.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := s.object(key).NewReader(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", s.where(key), notFound(err))
	}
	return r, nil
}

// GetRange implements store.Ranger; the object's size comes with the
// answer.
func (s *Store) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, int64, error) {
	r, err := s.object(key).NewRangeReader(ctx, off, n)
	if err != nil {
		return nil, 0, fmt.Errorf("store: get %s (bytes %d-%d): %w", s.where(key), off, off+n-1, notFound(err))
	}
	return r, r.Attrs.Size, nil
}

func (s *Store) List(ctx context.Context, prefix string) ([]store.Object, error) {
	q := &storage.Query{Prefix: s.Prefix + prefix}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Updated"}); err != nil {
		return nil, fmt.Errorf("store: list %s: %w", s.where(prefix), err)
	}
	var out []store.Object
	it := s.Client.Bucket(s.Bucket).Objects(ctx, q)
	for {
		o, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("store: list %s: %w", s.where(prefix), err)
		}
		out = append(out, store.Object{Key: strings.TrimPrefix(o.Name, s.Prefix), Size: o.Size, Modified: o.Updated})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.object(key).Delete(ctx)
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
