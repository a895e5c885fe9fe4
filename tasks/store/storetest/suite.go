// Package storetest is the shared test suite every store.Store must pass:
// the local folder in unit tests, MinIO, fake-gcs-server and Azurite in
// the e2e suite; and store.Conditional's, for the stores that have it.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/vigil-backup/vigil/tasks/store"
)

// FailedKeys are the keys whose Put the suite makes fail; a store must
// leave nothing under them, incomplete uploads included.
var FailedKeys = []string{"f/partial", "c/obj"}

// Run runs the suite. newStore returns an empty store; prefix isolates keys
// when stores share a bucket.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("PutGetRoundTrip", func(t *testing.T) { putGet(t, newStore(t)) })
	t.Run("LargeStreamUnknownSize", func(t *testing.T) { largeStream(t, newStore(t)) })
	t.Run("FailedPutLeavesNothing", func(t *testing.T) { failedPut(t, newStore(t)) })
	t.Run("CancelledPutLeavesNothing", func(t *testing.T) { cancelledPut(t, newStore(t)) })
	t.Run("FailedPutKeepsOldObject", func(t *testing.T) { failedOverwrite(t, newStore(t)) })
	t.Run("ListPrefixSorted", func(t *testing.T) { listPrefix(t, newStore(t)) })
	t.Run("DeleteAndNotFound", func(t *testing.T) { deleteNotFound(t, newStore(t)) })
	t.Run("RangedDownload", func(t *testing.T) { rangedDownload(t, newStore(t)) })
	// Stores with conditional writes hold standalone runs' locks.
	if _, ok := newStore(t).(store.Conditional); ok {
		t.Run("ConditionalWrites", func(t *testing.T) { conditional(t, newStore(t).(store.Conditional)) })
	}
}

// rangedDownload reads an object back in parts with requests in flight
// (store.Download), and checks a range's bytes and the object size the
// store reports with it.
func rangedDownload(t *testing.T, s store.Store) {
	r, ok := s.(store.Ranger)
	if !ok {
		t.Skip("the store reads objects only whole")
	}
	data := make([]byte, 3<<20+777)
	rand.Read(data)
	if err := s.Put(ctx(t), "r/obj", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	body, total, err := r.GetRange(ctx(t), "r/obj", 1000, 5000)
	if err != nil {
		t.Fatal(err)
	}
	part, err := io.ReadAll(body)
	body.Close()
	if err != nil || total != int64(len(data)) || !bytes.Equal(part, data[1000:6000]) {
		t.Fatalf("range 1000+5000: %d bytes, object size %d (want %d), err %v", len(part), total, len(data), err)
	}
	rc, err := store.Download(ctx(t), s, "r/obj", int64(len(data)), store.DownloadOptions{Concurrency: 4, PartSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("download in parts: %d of %d bytes, err %v", len(got), len(data), err)
	}
	if _, _, err := r.GetRange(ctx(t), "r/missing", 0, 10); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("range of a missing key: %v", err)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func get(t *testing.T, s store.Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keys(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	objs, err := s.List(ctx(t), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func putGet(t *testing.T, s store.Store) {
	data := []byte("hello backup")
	if err := s.Put(ctx(t), "b/one.bin", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "b/one.bin"); !bytes.Equal(got, data) {
		t.Fatalf("got %q", got)
	}
	objs, _ := s.List(ctx(t), "b/")
	if len(objs) != 1 || objs[0].Size != int64(len(data)) {
		t.Fatalf("list = %+v", objs)
	}
}

func largeStream(t *testing.T, s store.Store) {
	data := make([]byte, 21<<20) // several multipart parts
	rand.Read(data)
	// OneByteReader-like chunking is too slow here; a plain reader of
	// unknown size is what a snapshot stream looks like.
	if err := s.Put(ctx(t), "big/obj", io.MultiReader(bytes.NewReader(data[:7<<20]), bytes.NewReader(data[7<<20:])), -1); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "big/obj"); !bytes.Equal(got, data) {
		t.Fatalf("large object differs (%d bytes back)", len(got))
	}
}

var errBoom = errors.New("snapshot source failed")

func failedPut(t *testing.T, s store.Store) {
	r := io.MultiReader(bytes.NewReader(make([]byte, 11<<20)), iotest.ErrReader(errBoom))
	err := s.Put(ctx(t), "f/partial", r, -1)
	if err == nil || !errors.Is(err, errBoom) && !strings.Contains(err.Error(), errBoom.Error()) {
		t.Fatalf("Put of a failing stream: err = %v, want %v", err, errBoom)
	}
	if k := keys(t, s, "f/"); len(k) != 0 {
		t.Fatalf("a failed Put left %v", k)
	}
	if _, err := s.Get(ctx(t), "f/partial"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after failed Put: %v", err)
	}
}

func cancelledPut(t *testing.T, s store.Store) {
	c, cancel := context.WithCancel(ctx(t))
	pr, pw := io.Pipe()
	go func() {
		pw.Write(make([]byte, 9<<20))
		cancel()
		pw.Write(make([]byte, 1<<20))
		pw.Close()
	}()
	if err := s.Put(c, "c/obj", pr, -1); err == nil {
		t.Fatal("Put succeeded despite a cancelled context")
	}
	if k := keys(t, s, "c/"); len(k) != 0 {
		t.Fatalf("a cancelled Put left %v", k)
	}
}

func failedOverwrite(t *testing.T, s store.Store) {
	if err := s.Put(ctx(t), "o/obj", strings.NewReader("good"), 4); err != nil {
		t.Fatal(err)
	}
	s.Put(ctx(t), "o/obj", io.MultiReader(strings.NewReader("bad"), iotest.ErrReader(errBoom)), -1)
	if got := get(t, s, "o/obj"); string(got) != "good" {
		t.Fatalf("a failed Put replaced the object with %q", got)
	}
}

func listPrefix(t *testing.T, s store.Store) {
	for _, k := range []string{"l/b/2", "l/a/1", "l/b/1", "lx/1"} {
		if err := s.Put(ctx(t), k, strings.NewReader(k), int64(len(k))); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(keys(t, s, "l/"), ",")
	if got != "l/a/1,l/b/1,l/b/2" {
		t.Fatalf("list l/ = %s", got)
	}
	if got := strings.Join(keys(t, s, "l/b/"), ","); got != "l/b/1,l/b/2" {
		t.Fatalf("list l/b/ = %s", got)
	}
}

func deleteNotFound(t *testing.T, s store.Store) {
	s.Put(ctx(t), "d/x", strings.NewReader("x"), 1)
	if err := s.Delete(ctx(t), "d/x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx(t), "d/x"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := s.Get(ctx(t), "d/x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of deleted key: %v", err)
	}
}
