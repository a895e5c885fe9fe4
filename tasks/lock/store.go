package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vigil-backup/vigil/tasks/store"
)

// Store locks with an object in the backups' own store, written with a
// conditional write (If-None-Match: *), for standalone runs against S3:
// runs on different hosts see the same bucket, where an OS file lock would
// exclude nothing. The holder refreshes the object (If-Match) while it
// runs; an object nobody refreshed for two TTLs belongs to a run that died
// and is taken over, again conditionally, so two runs never both win.
type Store struct {
	S store.Conditional
	// Prefix is where lock objects live in the store ("<key>.lock").
	Prefix string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var _ Locker = (*Store)(nil)

// storeLock is a lock object's content.
type storeLock struct {
	Holder    Holder    `json:"holder"`
	Refreshed time.Time `json:"refreshed_at"`
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Acquire implements Locker.
func (s *Store) Acquire(ctx context.Context, key string, me Holder, ttl, wait time.Duration) (Lease, error) {
	obj := s.Prefix + key + ".lock"
	deadline := s.now().Add(wait)
	for {
		etag, held, err := s.try(ctx, obj, me, ttl)
		if err != nil {
			return nil, fmt.Errorf("lock: %s: %w", obj, err)
		}
		if etag != "" {
			return newStoreLease(s, obj, me, ttl, etag), nil
		}
		if s.now().After(deadline) {
			return nil, &HeldError{Key: key, Holder: held}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock: acquire %s: %w", key, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// try takes the lock once: creates the object, or takes over a stale one.
// It returns the new object's ETag, or the live holder.
func (s *Store) try(ctx context.Context, obj string, me Holder, ttl time.Duration) (string, *Holder, error) {
	body := s.body(me)
	etag, err := s.S.PutIfAbsent(ctx, obj, body)
	if err == nil {
		return etag, nil, nil
	}
	if !errors.Is(err, store.ErrPrecondition) {
		return "", nil, err
	}
	cur, err := s.S.GetVersioned(ctx, obj)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil, nil // released meanwhile: the next try creates it
	}
	if err != nil {
		return "", nil, err
	}
	var l storeLock
	if json.Unmarshal(cur.Body, &l) != nil {
		return "", nil, fmt.Errorf("the lock object is not vigil's; remove it by hand if no run holds it")
	}
	// The object's time is the store's clock: with refreshes every TTL/3
	// and takeover after two TTLs, a skew of up to a TTL between this host
	// and the store never takes a live lock.
	if s.now().Sub(cur.Modified) <= 2*ttl {
		return "", &l.Holder, nil
	}
	etag, err = s.S.PutIfMatch(ctx, obj, body, cur.ETag)
	if errors.Is(err, store.ErrPrecondition) {
		return "", &l.Holder, nil // another run took it over first
	}
	return etag, nil, err
}

func (s *Store) body(me Holder) []byte {
	b, _ := json.Marshal(storeLock{Holder: me, Refreshed: s.now().UTC()})
	return b
}

// storeLease refreshes the lock object every TTL/3 and reports the lock
// lost when a refresh finds it changed, or when refreshes failed for a
// whole TTL (another run may take it over after two).
type storeLease struct {
	s      *Store
	obj    string
	lost   chan struct{}
	stop   context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	etag   string
	once   sync.Once
	relErr error
	why    error
	me     Holder
}

func newStoreLease(s *Store, obj string, me Holder, ttl time.Duration, etag string) *storeLease {
	ctx, stop := context.WithCancel(context.Background())
	l := &storeLease{s: s, obj: obj, lost: make(chan struct{}), stop: stop, done: make(chan struct{}), etag: etag, me: me}
	go l.refresh(ctx, me, ttl)
	return l
}

func (l *storeLease) refresh(ctx context.Context, me Holder, ttl time.Duration) {
	defer close(l.done)
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(ttl / 3):
		}
		// A refresh is never cut short by Release: the store may have
		// written it before the answer came, and the lease must then hold
		// its new ETag, or Release's conditional delete would miss and
		// leave the lock behind for the next run to find held.
		rctx, cancel := context.WithTimeout(context.Background(), ttl)
		l.mu.Lock()
		etag, err := l.s.S.PutIfMatch(rctx, l.obj, l.s.body(me), l.etag)
		if err == nil {
			l.etag, lastOK = etag, time.Now()
		}
		l.mu.Unlock()
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch {
		case errors.Is(err, store.ErrPrecondition):
			l.why = fmt.Errorf("the lock object %s was changed by another run", l.obj)
		case time.Since(lastOK) > ttl:
			l.why = fmt.Errorf("refreshing the lock object %s failed for %s (the lock TTL): %w", l.obj, time.Since(lastOK).Round(time.Second), err)
		}
		if l.why != nil {
			close(l.lost)
			return
		}
	}
}

func (l *storeLease) Lost() <-chan struct{} { return l.lost }

// Why implements Lease.
func (l *storeLease) Why() error {
	select {
	case <-l.lost:
		return l.why
	default:
		return nil
	}
}

// Release stops the refreshes and deletes the object if it is still ours.
func (l *storeLease) Release(ctx context.Context) error {
	l.once.Do(func() {
		l.stop()
		<-l.done
		l.mu.Lock()
		defer l.mu.Unlock()
		err := l.s.S.DeleteIfMatch(ctx, l.obj, l.etag)
		if errors.Is(err, store.ErrPrecondition) {
			err = l.releaseUnseenRefresh(ctx)
		}
		if err != nil {
			l.relErr = fmt.Errorf("lock: release %s: %w", l.obj, err)
		}
	})
	return l.relErr
}

// releaseUnseenRefresh deletes the lock object when it still names this
// holder under another ETag: a refresh the store wrote whose answer never
// came (a timeout), which would otherwise leave the lock held for the next
// run to be skipped by. An object naming another holder was taken over,
// and is left to it.
func (l *storeLease) releaseUnseenRefresh(ctx context.Context) error {
	cur, err := l.s.S.GetVersioned(ctx, l.obj)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var held storeLock
	if json.Unmarshal(cur.Body, &held) != nil || !held.Holder.Same(l.me) {
		return nil
	}
	if err := l.s.S.DeleteIfMatch(ctx, l.obj, cur.ETag); err != nil && !errors.Is(err, store.ErrPrecondition) {
		return err
	}
	return nil
}
