// Package recordtest is the shared suite for record.Book implementations:
// records beside the backups in unit tests, the control Consul in e2e.
package recordtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/tasks/lock"
	"github.com/vigil-backup/vigil/tasks/record"
)

// Run runs the suite; backup names a backup no other test uses, and keep
// is the history the book was told to keep.
func Run(t *testing.T, book record.Book, backup string, keep int) {
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	if r, err := book.Last(ctx, backup, record.KindBackup); err != nil || r != nil {
		t.Fatalf("Last of a new backup: %+v, %v", r, err)
	}
	run := record.Run{Backup: backup, Kind: record.KindBackup, ID: "r1", Status: record.Running, StartedAt: t0}
	if err := book.Start(ctx, run); err != nil {
		t.Fatal(err)
	}
	if cur, err := book.Current(ctx, backup, record.KindBackup); err != nil || cur == nil || cur.ID != "r1" || cur.Status != record.Running {
		t.Fatalf("Current: %+v, %v", cur, err)
	}
	// A skipped run is history only.
	skip := record.Run{Backup: backup, Kind: record.KindBackup, ID: "r2", Status: record.Skipped, StartedAt: t0.Add(time.Millisecond),
		Holder: &lock.Holder{Host: "h", PID: 7}}
	if err := book.Skip(ctx, skip); err != nil {
		t.Fatal(err)
	}
	if last, _ := book.Last(ctx, backup, record.KindBackup); last != nil {
		t.Fatalf("a skip became the last run: %+v", last)
	}
	end := t0.Add(time.Second)
	run.Status, run.FinishedAt, run.Object, run.Size = record.Succeeded, &end, "o", 9
	if err := book.Finish(ctx, run); err != nil {
		t.Fatal(err)
	}
	if cur, _ := book.Current(ctx, backup, record.KindBackup); cur != nil {
		t.Fatalf("Current after Finish: %+v", cur)
	}
	last, err := book.Last(ctx, backup, record.KindBackup)
	if err != nil || last == nil || last.Status != record.Succeeded || last.Size != 9 || !last.FinishedAt.Equal(end) {
		t.Fatalf("Last: %+v, %v", last, err)
	}
	// Finishing an older run must not clear a newer run in progress.
	newer := record.Run{Backup: backup, Kind: record.KindBackup, ID: "r3", Status: record.Running, StartedAt: t0.Add(2 * time.Second)}
	book.Start(ctx, newer)
	old := run
	old.ID = "r0"
	book.Finish(ctx, old)
	if cur, _ := book.Current(ctx, backup, record.KindBackup); cur == nil || cur.ID != "r3" {
		t.Fatalf("finishing another run cleared the current one: %+v", cur)
	}
	// Drills have their own current and last records: a drill that starts
	// and ends while a backup runs leaves the running backup visible.
	v := record.Run{Backup: backup, Kind: record.KindVerify, ID: "v1", Status: record.Running, StartedAt: t0}
	if err := book.Start(ctx, v); err != nil {
		t.Fatal(err)
	}
	if cur, _ := book.Current(ctx, backup, record.KindBackup); cur == nil || cur.ID != "r3" {
		t.Fatalf("a drill in progress hid the running backup: %+v", cur)
	}
	if cur, _ := book.Current(ctx, backup, record.KindVerify); cur == nil || cur.ID != "v1" {
		t.Fatalf("Current verify: %+v", cur)
	}
	v.Status, v.FinishedAt = record.Failed, &end
	book.Finish(ctx, v)
	if cur, _ := book.Current(ctx, backup, record.KindBackup); cur == nil || cur.ID != "r3" {
		t.Fatalf("finishing a drill cleared the running backup: %+v", cur)
	}
	if cur, _ := book.Current(ctx, backup, record.KindVerify); cur != nil {
		t.Fatalf("Current verify after Finish: %+v", cur)
	}
	if lv, _ := book.Last(ctx, backup, record.KindVerify); lv == nil || lv.ID != "v1" {
		t.Fatalf("Last verify: %+v", lv)
	}
	if lb, _ := book.Last(ctx, backup, record.KindBackup); lb == nil || lb.Kind != record.KindBackup {
		t.Fatalf("a drill replaced the last backup record: %+v", lb)
	}
	hist, err := book.History(ctx, backup)
	if err != nil || len(hist) != 4 {
		t.Fatalf("History: %d runs, %v", len(hist), err)
	}
	for i := 1; i < len(hist); i++ {
		if hist[i].StartedAt.Before(hist[i-1].StartedAt) {
			t.Fatalf("history not in start order")
		}
	}
	// The first registration stands.
	if reg, err := book.Registered(ctx, backup); err != nil || reg != nil {
		t.Fatalf("Registered of a backup never registered: %v, %v", reg, err)
	}
	if err := book.Register(ctx, backup, t0); err != nil {
		t.Fatal(err)
	}
	if err := book.Register(ctx, backup, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if reg, err := book.Registered(ctx, backup); err != nil || reg == nil || !reg.Equal(t0) {
		t.Fatalf("Registered: %v, %v; want %v", reg, err, t0)
	}
	// History is bounded by the writer, the oldest runs going first.
	for i := 0; i < keep+5; i++ {
		book.Skip(ctx, record.Run{Backup: backup, Kind: record.KindBackup, ID: fmt.Sprint("s", i), Status: record.Skipped, StartedAt: t0.Add(time.Duration(10+i) * time.Second)})
	}
	hist, _ = book.History(ctx, backup)
	if len(hist) != keep {
		t.Fatalf("history holds %d runs, limit %d", len(hist), keep)
	}
	if first := hist[0].ID; first != fmt.Sprint("s", 5) {
		t.Fatalf("the oldest run kept is %s, want s5", first)
	}
}
