// Package local keeps backup objects in a folder: a host volume, a
// mounted share, or a test's temporary directory.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/tasks/store"
)

// tmpMarker is in the name of every file Put has not finished.
const tmpMarker = ".vigil-tmp-"

// Local is a Store in a folder. Put writes a temporary file beside the
// target, syncs it and renames it into place, so a crash leaves no file
// under the final name.
type Store struct {
	Root string
}

var _ store.Store = (*Store)(nil)

// NewLocal returns a store rooted at dir, creating it.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", dir, err)
	}
	return &Store{Root: dir}, nil
}

func (l *Store) String() string { return l.Root }

func (l *Store) path(key string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(key))
	if key == "" || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("store: invalid key %q", key)
	}
	return filepath.Join(l.Root, clean), nil
}

// Put implements Store.
func (l *Store) Put(ctx context.Context, key string, r io.Reader, _ int64) (err error) {
	dst, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := dst + tmpMarker + hex.EncodeToString(rnd[:])
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = io.Copy(newWriteback(f), ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("store: put %s: sync: %w", key, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	if err = os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	return syncDir(filepath.Dir(dst))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	_ = d.Sync() // best effort: some filesystems refuse to sync directories
	return nil
}

// Get implements Store.
func (l *Store) Get(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: get %s: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", key, err)
	}
	return f, nil
}

// List implements Store. The walk starts at the prefix's folder, so
// listing one backup does not read every other backup's folder.
func (l *Store) List(_ context.Context, prefix string) ([]store.Object, error) {
	var out []store.Object
	start := l.Root
	if dir := path.Dir(prefix + "x"); dir != "." {
		p, err := l.path(dir)
		if err != nil {
			return nil, err
		}
		start = p
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.Contains(d.Name(), tmpMarker) {
			return nil
		}
		rel, err := filepath.Rel(l.Root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed while listing
		}
		out = append(out, store.Object{Key: key, Size: info.Size(), Modified: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

var _ store.TempCleaner = (*Store)(nil)

// RemoveTemp implements TempCleaner: a run killed during Put (kill -9)
// leaves its temp file, which no listing shows.
func (l *Store) RemoveTemp(_ context.Context, prefix string, before time.Time) error {
	start := l.Root
	if dir := path.Dir(prefix + "x"); dir != "." {
		p, err := l.path(dir)
		if err != nil {
			return err
		}
		start = p
	}
	var errs []error
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || !strings.Contains(d.Name(), tmpMarker) {
			return nil
		}
		rel, _ := filepath.Rel(l.Root, p)
		if !strings.HasPrefix(filepath.ToSlash(rel), prefix) {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().Before(before) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("store: remove %s: %w", rel, err))
			}
		}
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("store: list %s: %w", prefix, err))
	}
	return errors.Join(errs...)
}

// Delete implements Store.
func (l *Store) Delete(_ context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: delete %s: %w", key, err)
	}
	return nil
}

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// GetRange implements Ranger on a file.
func (l *Store) GetRange(_ context.Context, key string, off, n int64) (io.ReadCloser, int64, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("store: get %s: %w", key, store.ErrNotFound)
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
