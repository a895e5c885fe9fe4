package tasks

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store/local"
)

// TestChooseHonoursDrillVerdicts: -latest passes over a newer backup
// whose drill failed (and says so), an -id whose drill failed needs force
// and the error names the newest verified backup, and drills (no
// verdicts) take the newest good backup as before.
func TestChooseHonoursDrillVerdicts(t *testing.T) {
	ctx := context.Background()
	s, _ := local.New(t.TempDir())
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	old := putTestBackup(t, s, "db", manifest.NewID(t0), "old")
	bad := putTestBackup(t, s, "db", manifest.NewID(t0.Add(time.Hour)), "bad")
	cat, err := ReadCatalog(ctx, s, nil, "db")
	if err != nil {
		t.Fatal(err)
	}
	done := t0.Add(2 * time.Hour)
	drill := func(id, status, why string) record.Run {
		return record.Run{Kind: record.KindVerify, Status: status, StartedAt: done, FinishedAt: &done, Error: why,
			Verify: &record.Verify{BackupID: id}}
	}
	vs := record.ReadVerdicts([]record.Run{drill(old.ID, record.Succeeded, ""), drill(bad.ID, record.Failed, "verify db: checksum check failed")})

	ch, err := Choose(cat, vs, "db", "latest", false)
	if err != nil || ch.ID != old.ID || len(ch.PassedOver) != 1 || !strings.Contains(ch.PassedOver[0], bad.ID+": drill failed: verify db: checksum") {
		t.Fatalf("-latest: %+v %v", ch, err)
	}
	if ch.Verdict.State != record.Verified {
		t.Errorf("the chosen backup's verdict: %+v", ch.Verdict)
	}
	_, err = Choose(cat, vs, "db", bad.ID, false)
	if !errors.Is(err, ErrDrillFailed) || !strings.Contains(err.Error(), "-force") || !strings.Contains(err.Error(), "newest verified backup is -id "+old.ID) {
		t.Fatalf("-id of a failed drill: %v", err)
	}
	if ch, err := Choose(cat, vs, "db", bad.ID, true); err != nil || ch.ID != bad.ID {
		t.Fatalf("-id -force: %+v %v", ch, err)
	}
	// Every backup failed its drill: -latest refuses with the way out.
	vs = record.ReadVerdicts([]record.Run{drill(old.ID, record.Failed, "x"), drill(bad.ID, record.Failed, "y")})
	if _, err := Choose(cat, vs, "db", "", false); !errors.Is(err, ErrDrillFailed) || !strings.Contains(err.Error(), "-id "+bad.ID+" -force") {
		t.Fatalf("all failed: %v", err)
	}
	// Drills take the newest good backup whatever was said before.
	if m, err := FindBackup(ctx, s, nil, "db", "latest"); err != nil || m.ID != bad.ID {
		t.Fatalf("drill's choice: %+v %v", m, err)
	}
	// A newer manifest that is not good is passed over with its problem.
	s.Delete(ctx, bad.Object)
	cat, _ = ReadCatalog(ctx, s, nil, "db")
	if ch, err := Choose(cat, nil, "db", "", false); err != nil || ch.ID != old.ID || len(ch.PassedOver) != 1 || !strings.Contains(ch.PassedOver[0], "is missing") {
		t.Fatalf("passed over a broken one: %+v %v", ch, err)
	}
}
