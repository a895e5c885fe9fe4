package lock

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFileLockExcludes(t *testing.T) {
	l := &File{Dir: t.TempDir()}
	ctx := context.Background()
	me := Holder{Host: "h", PID: 1, StartedAt: time.Now()}
	lease, err := l.Acquire(ctx, "vigil/locks/a", me, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Acquire(ctx, "vigil/locks/a", Holder{Host: "other"}, 0, 0)
	held, ok := IsHeld(err)
	if !ok || held.Holder == nil || held.Holder.PID != 1 {
		t.Fatalf("second acquire: %v (holder %+v)", err, held)
	}
	go func() { time.Sleep(200 * time.Millisecond); lease.Release(ctx) }()
	lease2, err := l.Acquire(ctx, "vigil/locks/a", Holder{Host: "other"}, 0, 5*time.Second)
	if err != nil {
		t.Fatalf("acquire with wait after release: %v", err)
	}
	lease2.Release(ctx)
}

func TestFileLockConcurrent(t *testing.T) {
	l := &File{Dir: t.TempDir()}
	var inside, maxInside, got int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lease, err := l.Acquire(context.Background(), "k", Holder{}, 0, 0)
			if err != nil {
				return
			}
			atomic.AddInt32(&got, 1)
			n := atomic.AddInt32(&inside, 1)
			for {
				m := atomic.LoadInt32(&maxInside)
				if n <= m || atomic.CompareAndSwapInt32(&maxInside, m, n) {
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
			atomic.AddInt32(&inside, -1)
			lease.Release(context.Background())
		}()
	}
	wg.Wait()
	if maxInside != 1 || got < 1 {
		t.Fatalf("max holders at once = %d, acquired %d", maxInside, got)
	}
}
