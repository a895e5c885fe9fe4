package tasks

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store"
	"github.com/vigil-backup/vigil/tasks/store/local"
)

// brokenStore is a store whose uploads fail after failAfter bytes, as a
// destination that goes away mid-run does.
type brokenStore struct {
	store.Store
	failAfter int64
}

func (b *brokenStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if strings.Contains(key, "/runs/") {
		return b.Store.Put(ctx, key, r, size) // the records stay writable
	}
	if _, err := io.CopyN(io.Discard, r, b.failAfter); err != nil {
		return err
	}
	return errors.New("azure: connection refused")
}

// fanoutBackup is a backup with three local storages, the last one's
// uploads failing after failAfter bytes (never, when negative).
func fanoutBackup(t *testing.T, src *source, failAfter int64) (*Deps, *config.Backup, []store.Store) {
	t.Helper()
	d, b := standalone(t, src, "zstd")
	b.Storage.Name = "a"
	var stores []store.Store
	for _, name := range []string{"b", "c"} {
		b.Copies = append(b.Copies, config.Storage{Kind: config.StorageLocal, Name: name, Path: t.TempDir()})
	}
	d.Stores = map[string]store.Store{}
	for i, st := range b.Destinations() {
		s, err := local.New(st.Path)
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
		d.Stores[st.Name] = s
		if i == 2 && failAfter >= 0 {
			d.Stores[st.Name] = &brokenStore{Store: s, failAfter: failAfter}
		}
	}
	return d, b, stores
}

func TestRunFansOutToEveryStorage(t *testing.T) {
	src := &source{data: randomBytes(3 << 20), failAt: -1}
	d, b, stores := fanoutBackup(t, src, -1)
	run, err := Run(context.Background(), d, b, RunOptions{})
	if err != nil || run.Status != record.Succeeded {
		t.Fatalf("run %+v: %v", run, err)
	}
	if len(run.Copies) != 3 {
		t.Fatalf("copies %+v", run.Copies)
	}
	var first []byte
	for i, s := range stores {
		if !run.Copies[i].Good || run.Copies[i].Storage != b.Destinations()[i].Name {
			t.Errorf("copy %d: %+v", i, run.Copies[i])
		}
		m, err := FindBackup(context.Background(), s, nil, b.Name, run.ID)
		if err != nil {
			t.Fatalf("storage %d holds no good copy: %v", i, err)
		}
		rc, err := s.Get(context.Background(), m.Object)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if first == nil {
			first = got
		} else if !bytes.Equal(first, got) {
			t.Errorf("storage %d holds other bytes than the first", i)
		}
	}
}

func TestRunWithAFailedStorageIsPartial(t *testing.T) {
	src := &source{data: randomBytes(6 << 20), failAt: -1}
	d, b, stores := fanoutBackup(t, src, 1<<20)
	run, err := Run(context.Background(), d, b, RunOptions{})
	if err != nil {
		t.Fatalf("a partial run is not a failed backup: %v", err)
	}
	if run.Status != record.Partial || !strings.Contains(run.Error, `local "c"`) || !strings.Contains(run.Error, "connection refused") {
		t.Fatalf("status %s, error %q", run.Status, run.Error)
	}
	if c := run.Copies; len(c) != 3 || !c[0].Good || !c[1].Good || c[2].Good || !strings.Contains(c[2].Error, "connection refused") {
		t.Fatalf("copies %+v", run.Copies)
	}
	for i, s := range stores {
		_, err := FindBackup(context.Background(), s, nil, b.Name, run.ID)
		if (err == nil) != (i < 2) {
			t.Errorf("storage %d: good copy %v, want %v", i, err == nil, i < 2)
		}
	}
	// The failed storage holds no manifest and no object.
	objs, _ := stores[2].List(context.Background(), b.Name+"/")
	for _, o := range objs {
		if !strings.Contains(o.Key, "/runs/") {
			t.Errorf("the failed storage holds %s", o.Key)
		}
	}
	if !run.BackupWritten() {
		t.Error("a partial run wrote a backup")
	}
}

func TestRunFailsWhenNoStorageHoldsACopy(t *testing.T) {
	src := &source{data: randomBytes(2 << 20), failAt: -1}
	d, b, stores := fanoutBackup(t, src, 0)
	for _, name := range []string{"a", "b"} {
		d.Stores[name] = &brokenStore{Store: d.Stores[name], failAfter: 1 << 10}
	}
	run, err := Run(context.Background(), d, b, RunOptions{})
	if err == nil || run.Status != record.Failed || !strings.Contains(err.Error(), "no destination holds a good copy") {
		t.Fatalf("run %+v: %v", run, err)
	}
	for i, s := range stores {
		if _, err := FindBackup(context.Background(), s, nil, b.Name, run.ID); err == nil {
			t.Errorf("storage %d holds a manifest", i)
		}
	}
}

func TestRetentionRunsPerStorageAndNotWhereTheCopyFailed(t *testing.T) {
	src := &source{data: randomBytes(1 << 16), failAt: -1}
	d, b, stores := fanoutBackup(t, src, -1)
	b.Retain = config.Retain{Last: 3}
	b.Copies[0].Retain = &config.Retain{Last: 1}
	b.Copies[1].Retain = &config.Retain{Last: 1}
	clock := time.Now().Add(-time.Hour)
	d.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	for i := 0; i < 3; i++ {
		if run, err := Run(context.Background(), d, b, RunOptions{}); err != nil || run.Status != record.Succeeded {
			t.Fatalf("run %d: %+v %v", i, run, err)
		}
	}
	d.Stores["c"] = &brokenStore{Store: stores[2], failAfter: 10}
	run, err := Run(context.Background(), d, b, RunOptions{})
	if err != nil || run.Status != record.Partial {
		t.Fatalf("run %+v: %v", run, err)
	}
	for i, want := range []int{3, 1, 1} {
		got, err := ListBackups(context.Background(), stores[i], nil, b.Name)
		if err != nil || len(got) != want {
			t.Errorf("storage %d keeps %d backups (%v), want %d", i, len(got), err, want)
		}
	}
	if run.Copies[2].Retention != nil {
		t.Errorf("retention ran where the copy failed: %+v", run.Copies[2].Retention)
	}
}

func TestRestoreReadsTheFirstStorageHoldingTheBackup(t *testing.T) {
	src := &source{data: randomBytes(1 << 20), failAt: -1}
	d, b, stores := fanoutBackup(t, src, -1)
	run, err := Run(context.Background(), d, b, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The first storage loses everything: the second holds the backup.
	objs, _ := stores[0].List(context.Background(), "")
	for _, o := range objs {
		if err := stores[0].Delete(context.Background(), o.Key); err != nil {
			t.Fatal(err)
		}
	}
	var from string
	m, err := Restore(context.Background(), d, b, RestoreOptions{Confirm: func(c Choice) bool { from = c.From; return true },
		RestoreOptions: plugin.RestoreOptions{OutFile: t.TempDir() + "/out.db"}})
	if err != nil || m.ID != run.ID || from != "b" {
		t.Fatalf("restore from %q: %+v %v", from, m, err)
	}
	if !bytes.Equal(src.restored.Bytes(), src.data) {
		t.Errorf("restored %d bytes, not the %d backed up", src.restored.Len(), len(src.data))
	}
	if _, err := Restore(context.Background(), d, b, RestoreOptions{From: "a"}); err == nil {
		t.Error("-from a restored from a storage that holds nothing")
	}
	if _, err := Restore(context.Background(), d, b, RestoreOptions{From: "nowhere"}); err == nil || !strings.Contains(err.Error(), "its storages are a, b, c") {
		t.Errorf("-from nowhere: %v", err)
	}
	if m, err := Restore(context.Background(), d, b, RestoreOptions{From: "c", Confirm: func(c Choice) bool { from = c.From; return true }}); err != nil || m.ID != run.ID || from != "c" {
		t.Errorf("-from c: %q %v", from, err)
	}
}

// bufferingStore is a store that says its uploads hold n bytes of buffers.
type bufferingStore struct {
	store.Store
	n int64
}

func (b *bufferingStore) PutBuffer() int64 { return b.n }

func TestRunFanningOutGrowsMemoryByTheFurtherStoresBuffers(t *testing.T) {
	src := &source{data: randomBytes(1 << 20), failAt: -1}
	d, b, stores := fanoutBackup(t, src, -1)
	sizes := []int64{17 << 20, 15 << 20, 0}
	for i, st := range b.Destinations() {
		d.Stores[st.Name] = &bufferingStore{Store: stores[i], n: sizes[i]}
	}
	var heard []int64
	d.FanOut = func(extra int64) { heard = append(heard, extra) }
	if _, err := Run(context.Background(), d, b, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	// The default limit allows for the largest store's buffers; the
	// others' are the extra.
	if len(heard) != 1 || heard[0] != 15<<20 {
		t.Fatalf("FanOut heard %v, want [%d]", heard, 15<<20)
	}

	heard = nil
	one, b1 := standalone(t, src, "zstd")
	one.FanOut = func(extra int64) { heard = append(heard, extra) }
	if _, err := Run(context.Background(), one, b1, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(heard) != 0 {
		t.Fatalf("a run to one store grew its memory by %v", heard)
	}
}
