package tasks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/store/local"
)

// TestManifestWithoutObjectIsNotABackup: a manifest whose data object is
// gone, or shorter than it says, is reported, skipped by -latest, named by
// -id, and not counted by retention as a good backup.
func TestManifestWithoutObjectIsNotABackup(t *testing.T) {
	ctx := context.Background()
	s, _ := local.New(t.TempDir())
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	older := putTestBackup(t, s, "db", manifest.NewID(t0), "older")
	gone := putTestBackup(t, s, "db", manifest.NewID(t0.Add(time.Hour)), "gone")
	short := putTestBackup(t, s, "db", manifest.NewID(t0.Add(2*time.Hour)), "short")
	s.Delete(ctx, gone.Object)
	s.Put(ctx, short.Object, strings.NewReader("shor"), 4)

	cat, err := ReadCatalog(ctx, s, nil, "db")
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Good) != 1 || cat.Good[0].ID != older.ID {
		t.Fatalf("good: %+v", cat.Good)
	}
	if len(cat.Broken) != 2 || !strings.Contains(cat.Broken[0].Problem, "has 4 bytes, the manifest says 5") || !strings.Contains(cat.Broken[1].Problem, "is missing") {
		t.Fatalf("broken: %+v", cat.Broken)
	}
	m, err := FindBackup(ctx, s, nil, "db", "latest")
	if err != nil || m.ID != older.ID {
		t.Fatalf("-latest picked %+v, %v; want the older good one", m, err)
	}
	if _, err := FindBackup(ctx, s, nil, "db", gone.ID); !errors.Is(err, ErrNoBackup) || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("-id of a broken backup: %v", err)
	}
	// Retention keeping one counts only the good one; the broken ones go
	// once past the orphan age, never in its place.
	b := &config.Backup{Name: "db", Timeout: time.Hour, Retain: config.Retain{Last: 1}}
	plan := PlanPrune(b, cat, t0.Add(3*time.Hour))
	if len(plan.Keep) != 1 || plan.Keep[0].ID != older.ID || len(plan.Drop) != 0 {
		t.Fatalf("plan within the orphan age: keep %+v drop %+v", plan.Keep, plan.Drop)
	}
	plan = PlanPrune(b, cat, t0.Add(30*time.Hour))
	if len(plan.Keep) != 1 || plan.Keep[0].ID != older.ID || len(plan.Drop) != 2 {
		t.Fatalf("plan past the orphan age: keep %+v drop %+v", plan.Keep, plan.Drop)
	}
}

// TestAmbiguousIDPrefix: -id with a prefix that fits several backups is
// an error naming them, never the first match.
func TestAmbiguousIDPrefix(t *testing.T) {
	ctx := context.Background()
	s, _ := local.New(t.TempDir())
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	a := putTestBackup(t, s, "db", manifest.NewID(t0), "a")
	b := putTestBackup(t, s, "db", manifest.NewID(t0.Add(time.Minute)), "b")
	_, err := FindBackup(ctx, s, nil, "db", "20261120T10")
	if err == nil || !strings.Contains(err.Error(), a.ID) || !strings.Contains(err.Error(), b.ID) {
		t.Fatalf("ambiguous prefix: %v", err)
	}
	if m, err := FindBackup(ctx, s, nil, "db", "20261120T1001"); err != nil || m.ID != b.ID {
		t.Fatalf("unique prefix: %+v %v", m, err)
	}
}

// TestLocalStoreRemovesDeadTempFiles: the temp file of a run killed during
// a write is removed by retention once past the orphan age; a younger one
// may belong to a write still going and stays.
func TestLocalStoreRemovesDeadTempFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := local.New(dir)
	putTestBackup(t, s, "db", manifest.NewID(time.Now()), "x")
	dead := dir + "/db/20261120T100000.000Z.db.zst.vigil-tmp-0123456789ab"
	young := dir + "/db/20261120T110000.000Z.db.zst.vigil-tmp-ba9876543210"
	for _, p := range []string{dead, young} {
		if err := writeFile(p, "partial"); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-3 * time.Hour)
	chtimes(t, dead, old)
	b := &config.Backup{Name: "db", Timeout: time.Hour}
	if _, err := Prune(ctx, s, b, nil, time.Now(), time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if exists(dead) || !exists(young) {
		t.Fatalf("after retention: dead temp file left %v, young temp file left %v", exists(dead), exists(young))
	}
}

// TestListingStartsAtThePrefixFolder: listing one backup reads only its
// folder. Another folder nested deeper than a path can name (which no walk
// from the root can read) does not break it.
func TestListingStartsAtThePrefixFolder(t *testing.T) {
	dir := t.TempDir()
	s, _ := local.New(dir)
	putTestBackup(t, s, "db", manifest.NewID(time.Now()), "x")
	if err := deepFolder(filepath.Join(dir, "other"), 5000); err != nil {
		t.Fatal(err)
	}
	objs, err := s.List(context.Background(), "db/")
	if err != nil || len(objs) != 2 {
		t.Fatalf("list db/: %v %v", objs, err)
	}
}

// deepFolder nests folders under root until the path is longer than
// depth bytes, creating each relative to its parent.
func deepFolder(root string, depth int) error {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}
	fd, err := syscall.Open(root, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	name := strings.Repeat("d", 200)
	for n := len(root); n < depth; n += len(name) + 1 {
		if err := syscall.Mkdirat(fd, name, 0o700); err != nil {
			syscall.Close(fd)
			return err
		}
		next, err := syscall.Openat(fd, name, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
		syscall.Close(fd)
		if err != nil {
			return err
		}
		fd = next
	}
	return syscall.Close(fd)
}
