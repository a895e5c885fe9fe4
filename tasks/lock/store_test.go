package lock

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/tasks/store"
)

// memCond is an in-memory store.Conditional with S3's semantics, to check
// the lock's logic; the e2e suite runs it against MinIO.
type memCond struct {
	mu   sync.Mutex
	objs map[string]*store.Versioned
	n    int
}

func (m *memCond) put(key string, body []byte, at time.Time) string {
	m.n++
	etag := fmt.Sprintf(`"%d"`, m.n)
	m.objs[key] = &store.Versioned{Body: body, ETag: etag, Modified: at}
	return etag
}

func (m *memCond) PutIfAbsent(_ context.Context, key string, body []byte) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs[key] != nil {
		return "", store.ErrPrecondition
	}
	return m.put(key, body, time.Now()), nil
}

func (m *memCond) PutIfMatch(_ context.Context, key string, body []byte, etag string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o := m.objs[key]; o == nil || o.ETag != etag {
		return "", store.ErrPrecondition
	}
	return m.put(key, body, time.Now()), nil
}

func (m *memCond) GetVersioned(_ context.Context, key string) (*store.Versioned, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o := m.objs[key]; o != nil {
		c := *o
		return &c, nil
	}
	return nil, store.ErrNotFound
}

func (m *memCond) DeleteIfMatch(_ context.Context, key, etag string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o := m.objs[key]; o != nil && o.ETag != etag {
		return store.ErrPrecondition
	}
	delete(m.objs, key)
	return nil
}

func TestStoreLock(t *testing.T) {
	ctx := context.Background()
	mem := &memCond{objs: map[string]*store.Versioned{}}
	l := &Store{S: mem}
	a := Holder{Host: "a", PID: 1}
	lease, err := l.Acquire(ctx, "vigil/locks/x", a, 10*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(ctx, "vigil/locks/x", Holder{Host: "b", PID: 2}, 10*time.Second, 0); err == nil {
		t.Fatal("a held lock was taken")
	} else if h, ok := IsHeld(err); !ok || h.Holder == nil || h.Holder.Host != "a" {
		t.Fatalf("held error: %v", err)
	}
	if err := lease.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if len(mem.objs) != 0 {
		t.Fatal("release left the lock object")
	}
	// A lock nobody refreshed for two TTLs belongs to a dead run: taken
	// over, and the dead run's lease finds it lost on its next refresh.
	dead, _ := l.Acquire(ctx, "vigil/locks/y", a, 3*time.Second, 0)
	mem.mu.Lock()
	mem.objs["vigil/locks/y.lock"].Modified = time.Now().Add(-7 * time.Second)
	mem.mu.Unlock()
	b, err := l.Acquire(ctx, "vigil/locks/y", Holder{Host: "b", PID: 2}, 3*time.Second, 0)
	if err != nil {
		t.Fatalf("a stale lock was not taken over: %v", err)
	}
	defer b.Release(ctx)
	select {
	case <-dead.Lost():
		if !strings.Contains(dead.Why().Error(), "changed by another run") {
			t.Fatalf("why: %v", dead.Why())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the run whose lock was taken over never learnt it")
	}
}

// slowCond answers a refresh only after a delay, having written it at
// once, as a store does whose answer is slow: a caller that gives up on
// the context has still moved the object to a new ETag.
type slowCond struct {
	*memCond
	delay time.Duration
}

func (s *slowCond) PutIfMatch(ctx context.Context, key string, body []byte, etag string) (string, error) {
	tag, err := s.memCond.PutIfMatch(ctx, key, body, etag)
	select {
	case <-time.After(s.delay):
		return tag, err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Release during a refresh in flight deletes the lock object all the same:
// the next run must not find it held.
func TestReleaseDuringARefresh(t *testing.T) {
	ctx := context.Background()
	mem := &memCond{objs: map[string]*store.Versioned{}}
	l := &Store{S: &slowCond{memCond: mem, delay: 200 * time.Millisecond}}
	lease, err := l.Acquire(ctx, "vigil/locks/x", Holder{Host: "a", PID: 1}, 300*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(180 * time.Millisecond) // the first refresh (at 100 ms) is in flight
	if err := lease.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if len(mem.objs) != 0 {
		t.Fatal("the lock object outlived its release")
	}
}

// A refresh the store wrote but whose answer never came (the refresh
// timed out) leaves the lease an old ETag; Release still deletes the
// object, which names this run, and leaves alone one another run took
// over.
func TestReleaseAfterAnUnseenRefresh(t *testing.T) {
	ctx := context.Background()
	mem := &memCond{objs: map[string]*store.Versioned{}}
	l := &Store{S: &slowCond{memCond: mem, delay: time.Hour}}
	lease, err := l.Acquire(ctx, "vigil/locks/x", Holder{Host: "a", PID: 1, StartedAt: time.Now()}, 300*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-lease.Lost(): // the refresh at 100 ms was written, its answer timed out at 400 ms
	case <-time.After(5 * time.Second):
		t.Fatal("a refresh that never answered did not lose the lease")
	}
	if err := lease.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if len(mem.objs) != 0 {
		t.Fatal("the lock object, rewritten by an unseen refresh, outlived its release")
	}

	// Taken over by another run: its object stays.
	lease, err = l.Acquire(ctx, "vigil/locks/y", Holder{Host: "a", PID: 1}, 300*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	<-lease.Lost()
	mem.mu.Lock()
	mem.put("vigil/locks/y.lock", (&Store{}).body(Holder{Host: "b", PID: 2}), time.Now())
	mem.mu.Unlock()
	if err := lease.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if len(mem.objs) != 1 {
		t.Fatal("release deleted the lock another run holds")
	}
}
