package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/tasks/store"
)

// conditional checks the store.Conditional contract a standalone run's
// lock stands on: create only if absent, replace and delete only the
// version read, exactly one winner among writers racing to create, and
// a modification time the lock can judge staleness by.
func conditional(t *testing.T, c store.Conditional) {
	const key = "lock/x"
	if _, err := c.GetVersioned(ctx(t), key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetVersioned of a missing key: %v, want ErrNotFound", err)
	}
	tag1, err := c.PutIfAbsent(ctx(t), key, []byte("one"))
	if err != nil || tag1 == "" {
		t.Fatalf("PutIfAbsent of a new key: tag %q, %v", tag1, err)
	}
	if _, err := c.PutIfAbsent(ctx(t), key, []byte("two")); !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("PutIfAbsent of an existing key: %v, want ErrPrecondition", err)
	}
	expect(t, c, key, "one", tag1)
	tag2, err := c.PutIfMatch(ctx(t), key, []byte("three"), tag1)
	if err != nil || tag2 == "" || tag2 == tag1 {
		t.Fatalf("PutIfMatch with the current tag: tag %q (was %q), %v", tag2, tag1, err)
	}
	if _, err := c.PutIfMatch(ctx(t), key, []byte("four"), tag1); !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("PutIfMatch with a stale tag: %v, want ErrPrecondition", err)
	}
	if err := c.DeleteIfMatch(ctx(t), key, tag1); !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("DeleteIfMatch with a stale tag: %v, want ErrPrecondition", err)
	}
	expect(t, c, key, "three", tag2)
	if err := c.DeleteIfMatch(ctx(t), key, tag2); err != nil {
		t.Fatalf("DeleteIfMatch with the current tag: %v", err)
	}
	if _, err := c.GetVersioned(ctx(t), key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetVersioned after the delete: %v, want ErrNotFound", err)
	}
	if err := c.DeleteIfMatch(ctx(t), key, tag2); err != nil {
		t.Fatalf("DeleteIfMatch of a key already gone: %v", err)
	}
	race(t, c)
}

func expect(t *testing.T, c store.Conditional, key, body, tag string) {
	t.Helper()
	v, err := c.GetVersioned(ctx(t), key)
	if err != nil {
		t.Fatal(err)
	}
	if string(v.Body) != body || v.ETag != tag {
		t.Fatalf("GetVersioned = %q tag %q, want %q tag %q", v.Body, v.ETag, body, tag)
	}
	if d := time.Since(v.Modified); d < -10*time.Minute || d > 10*time.Minute {
		t.Fatalf("modified %s: not within ten minutes of now", v.Modified)
	}
}

// race: of writers creating one key at once, exactly one wins.
func race(t *testing.T, c store.Conditional) {
	const writers = 6
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.PutIfAbsent(ctx(t), "lock/race", []byte{byte('a' + i)})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrPrecondition):
			t.Errorf("a losing writer's error: %v, want ErrPrecondition", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d racing writers created the key, want exactly 1", won, writers)
	}
}
