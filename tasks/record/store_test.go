package record_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/record/recordtest"
	"github.com/vigil-backup/vigil/tasks/store"
	"github.com/vigil-backup/vigil/tasks/store/local"
)

func TestStoreBook(t *testing.T) {
	s, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	recordtest.Run(t, &record.Store{S: s, Keep: 12}, "suite", 12)
}

// TestRoutedBook: the suite through a Routed book, each backup's records
// in its own store; a backup with no book is an error, not a silent drop.
func TestRoutedBook(t *testing.T) {
	a, _ := local.New(t.TempDir())
	b, _ := local.New(t.TempDir())
	routed := record.Routed{"suite": &record.Store{S: a}, "other": &record.Store{S: b}}
	recordtest.Run(t, routed, "suite", record.DefaultHistory)
	if objs, _ := b.List(context.Background(), ""); len(objs) != 0 {
		t.Errorf("records of suite landed in other's store: %v", objs)
	}
	if err := routed.Start(context.Background(), record.Run{Backup: "nobody", Kind: record.KindBackup}); err == nil {
		t.Error("a record of an unknown backup was accepted")
	}
}

// failingHistory is a store whose writes under runs/history/ fail.
type failingHistory struct{ store.Store }

func (f failingHistory) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if strings.Contains(key, "/runs/history/") {
		return errors.New("history write refused")
	}
	return f.Store.Put(ctx, key, r, size)
}

// TestStoreFinishOrder: a history write that fails never leaves a finished
// run recorded as running (which the next run would call dead).
func TestStoreFinishOrder(t *testing.T) {
	s, _ := local.New(t.TempDir())
	book := &record.Store{S: failingHistory{s}}
	ctx := context.Background()
	run := record.Run{Backup: "b", Kind: record.KindBackup, ID: "r1", Status: record.Running, StartedAt: time.Now()}
	if err := book.Start(ctx, run); err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	run.Status, run.FinishedAt = record.Succeeded, &end
	if err := book.Finish(ctx, run); err == nil {
		t.Fatal("Finish hid the failed history write")
	}
	if cur, err := book.Current(ctx, "b", record.KindBackup); err != nil || cur != nil {
		t.Fatalf("the finished run is still current: %+v, %v", cur, err)
	}
	if last, _ := book.Last(ctx, "b", record.KindBackup); last == nil || last.Status != record.Succeeded {
		t.Fatalf("last: %+v", last)
	}
}
