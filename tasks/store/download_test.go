package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// memStore holds one object in memory: a Store and a Ranger for the
// downloader's tests (the real stores' suites live in their packages).
type memStore struct {
	key  string
	data []byte
}

func (m *memStore) Put(_ context.Context, key string, r io.Reader, _ int64) error {
	b, err := io.ReadAll(r)
	m.key, m.data = key, b
	return err
}

func (m *memStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	body, _, err := m.GetRange(ctx, key, 0, int64(len(m.data)))
	return body, err
}

func (m *memStore) GetRange(_ context.Context, key string, off, n int64) (io.ReadCloser, int64, error) {
	if key != m.key {
		return nil, 0, ErrNotFound
	}
	return io.NopCloser(io.NewSectionReader(bytes.NewReader(m.data), off, n)), int64(len(m.data)), nil
}

func (m *memStore) List(context.Context, string) ([]Object, error) {
	return []Object{{Key: m.key, Size: int64(len(m.data))}}, nil
}
func (m *memStore) Delete(context.Context, string) error { m.key, m.data = "", nil; return nil }
func (m *memStore) String() string                       { return "memory" }

// faultyRanger serves ranges of an object in memory, cuts chosen requests
// half-way, and counts the requests in flight.
type faultyRanger struct {
	*memStore
	mu       sync.Mutex
	cuts     map[int64]int // offset → requests still to cut
	inFlight atomic.Int32
	peak     atomic.Int32
	requests atomic.Int32
}

func (f *faultyRanger) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, int64, error) {
	f.requests.Add(1)
	cur := f.inFlight.Add(1)
	for p := f.peak.Load(); cur > p && !f.peak.CompareAndSwap(p, cur); p = f.peak.Load() {
	}
	body, size, err := f.memStore.GetRange(ctx, key, off, n)
	if err != nil {
		f.inFlight.Add(-1)
		return nil, 0, err
	}
	time.Sleep(time.Millisecond) // let requests overlap
	f.mu.Lock()
	cut := f.cuts[off] > 0
	if cut {
		f.cuts[off]--
	}
	f.mu.Unlock()
	var r io.Reader = body
	if cut {
		r = io.MultiReader(io.LimitReader(body, n/2), errReader{errors.New("connection reset by peer")})
	}
	return struct {
		io.Reader
		io.Closer
	}{r, closeFunc(func() error { f.inFlight.Add(-1); return body.Close() })}, size, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type closeFunc func() error

func (c closeFunc) Close() error { return c() }

func newFaulty(t *testing.T, data []byte) *faultyRanger {
	t.Helper()
	m := &memStore{}
	if err := m.Put(context.Background(), "obj", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	return &faultyRanger{memStore: m, cuts: map[int64]int{}}
}

const testPart = 64 << 10

func TestDownloadReassemblesPartsInOrder(t *testing.T) {
	data := randomBytes(10*testPart + 12345)
	f := newFaulty(t, data)
	rc, err := Download(context.Background(), f, "obj", int64(len(data)), DownloadOptions{Concurrency: 4, PartSize: testPart})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d of %d bytes (err %v); equal: %v", len(got), len(data), err, bytes.Equal(got, data))
	}
	if n := f.requests.Load(); n != 11 {
		t.Errorf("%d range requests for 11 parts", n)
	}
	// Buffers bound the requests: Concurrency in flight, plus the part
	// being consumed.
	if p := f.peak.Load(); p < 2 || p > 5 {
		t.Errorf("peak requests in flight %d, want 2..5", p)
	}
}

func TestDownloadRetriesACutPart(t *testing.T) {
	data := randomBytes(6 * testPart)
	f := newFaulty(t, data)
	f.cuts[2*testPart] = partAttempts - 1 // the last attempt gets through
	f.cuts[5*testPart] = 1
	rc, err := Download(context.Background(), f, "obj", int64(len(data)), DownloadOptions{Concurrency: 3, PartSize: testPart})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("a part cut and retried: err %v, equal %v", err, bytes.Equal(got, data))
	}
}

func TestDownloadFailsOnAPartThatNeverComes(t *testing.T) {
	data := randomBytes(8 * testPart)
	f := newFaulty(t, data)
	f.cuts[3*testPart] = partAttempts
	before := runtime.NumGoroutine()
	rc, err := Download(context.Background(), f, "obj", int64(len(data)), DownloadOptions{Concurrency: 4, PartSize: testPart})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err == nil || !strings.Contains(err.Error(), "connection reset") || !strings.Contains(err.Error(), "3 attempts") {
		t.Fatalf("err = %v", err)
	}
	if len(got) != 3*testPart || !bytes.Equal(got, data[:len(got)]) {
		t.Errorf("read %d bytes before the failed part, want the %d before it", len(got), 3*testPart)
	}
	rc.Close()
	waitGoroutines(t, before)
}

func TestDownloadCloseEarlyStopsFetches(t *testing.T) {
	data := randomBytes(40 * testPart)
	f := newFaulty(t, data)
	before := runtime.NumGoroutine()
	rc, err := Download(context.Background(), f, "obj", int64(len(data)), DownloadOptions{Concurrency: 4, PartSize: testPart})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if _, err := io.ReadFull(rc, buf); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	// The parts' memory is freed: a read after Close must not touch it.
	if _, err := rc.Read(buf); !errors.Is(err, errClosed) {
		t.Errorf("read after close: %v", err)
	}
	waitGoroutines(t, before)
	if n := f.requests.Load(); n > 8 {
		t.Errorf("%d requests made for an object closed after 100 bytes", n)
	}
}

// An object whose size is not the expected one is read whole with one
// request, so the caller's check sees all of it and names the difference.
func TestDownloadOfAnObjectOfAnotherSize(t *testing.T) {
	data := randomBytes(5 * testPart)
	f := newFaulty(t, data)
	for _, want := range []int64{4 * testPart, 6 * testPart} {
		rc, err := Download(context.Background(), f, "obj", want, DownloadOptions{Concurrency: 4, PartSize: testPart})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("expected %d bytes: read %d of the object's %d (err %v)", want, len(got), len(data), err)
		}
	}
}

// Stores without ranges, small objects and a concurrency of 1 read the
// object with one request.
func TestDownloadWithOneRequest(t *testing.T) {
	data := randomBytes(3 * testPart)
	f := newFaulty(t, data)
	for name, c := range map[string]struct {
		s Store
		o DownloadOptions
	}{
		"no ranges":     {struct{ Store }{f.memStore}, DownloadOptions{Concurrency: 4, PartSize: testPart}},
		"one part":      {f, DownloadOptions{Concurrency: 4, PartSize: 4 * testPart}},
		"concurrency 1": {f, DownloadOptions{Concurrency: 1, PartSize: testPart}},
	} {
		f.requests.Store(0)
		rc, err := Download(context.Background(), c.s, "obj", int64(len(data)), c.o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: err %v, equal %v", name, err, bytes.Equal(got, data))
		}
		if n := f.requests.Load(); n != 0 {
			t.Errorf("%s: %d range requests", name, n)
		}
	}
	if _, err := Download(context.Background(), f, "missing", 5*testPart, DownloadOptions{PartSize: testPart}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing object: %v", err)
	}
}

func TestContentRangeTotal(t *testing.T) {
	if n, err := ContentRangeTotal("bytes 0-99/1234"); err != nil || n != 1234 {
		t.Errorf("got %d, %v", n, err)
	}
	for _, bad := range []string{"", "bytes 0-99/*", "0-99/12"} {
		if _, err := ContentRangeTotal(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left running (was %d)", n, before)
	}
}
