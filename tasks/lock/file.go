package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// File locks with flock(2) on a file, for standalone mode. The lock dies with
// the process, so a crashed run frees it at once. The holder record is the
// file's content.
type File struct {
	// Dir holds the lock files.
	Dir string
}

var _ Locker = (*File)(nil)

// Acquire implements Locker; ttl does not apply to a file lock.
func (f *File) Acquire(ctx context.Context, key string, me Holder, _, wait time.Duration) (Lease, error) {
	path := filepath.Join(f.Dir, filepath.FromSlash(key)+".lock")
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("lock: %s: %w", path, err)
	}
	fd, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock: %s: %w", path, err)
	}
	deadline := time.Now().Add(wait)
	for {
		err = syscall.Flock(int(fd.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			fd.Close()
			return nil, fmt.Errorf("lock: flock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			h := readHolder(fd)
			fd.Close()
			return nil, &HeldError{Key: key, Holder: h}
		}
		select {
		case <-ctx.Done():
			fd.Close()
			return nil, fmt.Errorf("lock: acquire %s: %w", key, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	b, _ := json.Marshal(me)
	if err := fd.Truncate(0); err == nil {
		_, err = fd.WriteAt(b, 0)
	}
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("lock: write holder to %s: %w", path, err)
	}
	return &fileLease{fd: fd}, nil
}

func readHolder(fd *os.File) *Holder {
	b, err := io.ReadAll(io.NewSectionReader(fd, 0, 1<<16))
	if err != nil || len(b) == 0 {
		return nil
	}
	var h Holder
	if json.Unmarshal(b, &h) != nil {
		return nil
	}
	return &h
}

type fileLease struct {
	fd   *os.File
	once sync.Once
}

// Lost never fires: a flock lasts as long as the process.
func (l *fileLease) Lost() <-chan struct{} { return nil }

// Why implements Lease: a file lock is never lost.
func (l *fileLease) Why() error { return nil }

func (l *fileLease) Release(context.Context) error {
	var err error
	l.once.Do(func() {
		_ = l.fd.Truncate(0)
		err = l.fd.Close() // closing the descriptor drops the flock
	})
	return err
}
