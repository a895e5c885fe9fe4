package tasks

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store"
	"github.com/vigil-backup/vigil/tasks/store/local"
)

// drillSource is a source whose drill passes or fails as told, and whose
// offline check reads the stream: the counting store then shows how often
// a drill fetched the object.
type drillSource struct {
	source
	pass bool
}

func (s *drillSource) Verify(_ context.Context, r io.Reader, _ *config.Verify, _ plugin.VerifyOptions) (*plugin.VerifyResult, error) {
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return nil, err
	}
	return &plugin.VerifyResult{Checks: []plugin.Check{{Name: "restored", Passed: s.pass && n == int64(len(s.data)), Detail: "restored the test bytes"}}}, nil
}

func (s *drillSource) CheckOffline(_ context.Context, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// countingStore counts Gets per key and can refuse deletes.
type countingStore struct {
	store.Store
	mu        sync.Mutex
	gets      map[string]int
	failDelet bool
}

func (c *countingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	c.mu.Lock()
	c.gets[key]++
	c.mu.Unlock()
	return c.Store.Get(ctx, key)
}

func (c *countingStore) Delete(ctx context.Context, key string) error {
	if c.failDelet {
		return errors.New("delete refused")
	}
	return c.Store.Delete(ctx, key)
}

// stagesBackup is a standalone backup with three older good backups and
// retention keeping one, on a counting store.
func stagesBackup(t *testing.T, pass bool) (*Deps, *config.Backup, *countingStore, *drillSource) {
	t.Helper()
	src := &drillSource{source: source{data: randomBytes(64 << 10), failAt: -1}, pass: pass}
	d, b := standalone(t, &src.source, "zstd")
	d.Target = func(*config.Backup, string) (plugin.Target, error) { return src, nil }
	b.Retain = config.Retain{Last: 1}
	b.Verify = &config.Verify{AfterBackup: true, MaxDuration: time.Minute}
	local, _ := local.New(b.Storage.Path)
	cs := &countingStore{Store: local, gets: map[string]int{}}
	d.Store = cs
	for i := 1; i <= 3; i++ {
		putTestBackup(t, local, b.Name, manifest.NewID(time.Now().Add(-time.Duration(i)*time.Hour)), "old")
	}
	return d, b, cs, src
}

// TestDrillFailureSkipsRetention: a drill that fails after a written
// backup is recorded as such, is not the run's error (Nomad must not take
// the backup again), and retention does not run, so no older backup is
// deleted for a copy of a state that failed its drill.
func TestDrillFailureSkipsRetention(t *testing.T) {
	d, b, cs, _ := stagesBackup(t, false)
	run, err := Run(context.Background(), d, b, RunOptions{Drill: true})
	if err != nil {
		t.Fatalf("a drill failure became the backup's error: %v", err)
	}
	if run.Status != record.DrillFailed || run.Drill == nil || run.Drill.Passed || !strings.Contains(run.Error, "drill failed") {
		t.Fatalf("run %+v drill %+v", run, run.Drill)
	}
	if run.Retention != nil {
		t.Fatalf("retention ran after a failed drill: %+v", run.Retention)
	}
	good, err := ListBackups(context.Background(), cs, nil, b.Name)
	if err != nil || len(good) != 4 {
		t.Fatalf("%d good backups after a failed drill, want all 4: %v", len(good), err)
	}
	book := &record.Store{S: cs}
	last, _ := book.Last(context.Background(), b.Name, record.KindBackup)
	drill, _ := book.Last(context.Background(), b.Name, record.KindVerify)
	if last == nil || last.Status != record.DrillFailed || drill == nil || drill.Status != record.Failed || drill.ID != run.Drill.RunID {
		t.Fatalf("records: backup %+v, drill %+v", last, drill)
	}
}

// TestDrillPassThenRetention: after a drill that passed, retention runs;
// the drill fetched the object exactly once.
func TestDrillPassThenRetention(t *testing.T) {
	d, b, cs, _ := stagesBackup(t, true)
	run, err := Run(context.Background(), d, b, RunOptions{Drill: true})
	if err != nil || run.Status != record.Succeeded || run.Drill == nil || !run.Drill.Passed {
		t.Fatalf("run %+v: %v", run, err)
	}
	if run.Retention == nil || len(run.Retention.Deleted) != 3 {
		t.Fatalf("retention %+v", run.Retention)
	}
	if n := cs.gets[run.Object]; n != 1 {
		t.Fatalf("the drill fetched the object %d times, want once", n)
	}
}

// TestRetentionFailureIsItsOwn: a retention pass that fails after a good
// backup is recorded as retention_failed and is not the run's error.
func TestRetentionFailureIsItsOwn(t *testing.T) {
	d, b, cs, _ := stagesBackup(t, true)
	cs.failDelet = true
	run, err := Run(context.Background(), d, b, RunOptions{})
	if err != nil || run.Status != record.RetentionFailed || run.Retention == nil || !strings.Contains(run.Retention.Error, "delete refused") {
		t.Fatalf("run %+v retention %+v: %v", run, run.Retention, err)
	}
	if !run.BackupWritten() {
		t.Fatal("a retention failure unmade the backup")
	}
}

// TestDeadRunWithManifestWasGood: a run that wrote its manifest but died
// before its record (or whose record write failed) is recorded by the next
// run as succeeded, never as a run that died.
func TestDeadRunWithManifestWasGood(t *testing.T) {
	src := &source{data: randomBytes(1024), failAt: -1}
	d, b := standalone(t, src, "none")
	s, _ := local.New(b.Storage.Path)
	id := manifest.NewID(time.Now().Add(-time.Hour))
	putTestBackup(t, s, b.Name, id, "earlier")
	book := &record.Store{S: s}
	if err := book.Start(context.Background(), record.Run{Backup: b.Name, Kind: record.KindBackup, ID: id, Status: record.Running, StartedAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), d, b, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	hist, _ := book.History(context.Background(), b.Name)
	for _, r := range hist {
		if r.ID == id {
			if r.Status != record.Succeeded || r.Object == "" {
				t.Fatalf("the earlier run with a manifest was recorded as %+v", r)
			}
			return
		}
	}
	t.Fatalf("the earlier run was not recorded: %+v", hist)
}
