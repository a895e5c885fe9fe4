package health

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/record"
)

var noon = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func backup() *config.Backup {
	return &config.Backup{Name: "kv", Type: "consul_kv", Schedule: "0 * * * *", Timeout: 10 * time.Minute}
}

func finished(status string, start time.Time) *record.Run {
	end := start.Add(time.Minute)
	return &record.Run{Backup: "kv", Kind: record.KindBackup, Status: status, StartedAt: start, FinishedAt: &end,
		Object: "kv/x.json.zst", Size: 2048, Error: map[bool]string{true: "consul: kv export: connection refused\nmore"}[status == record.Failed]}
}

func TestEvaluate(t *testing.T) {
	b := backup()
	// Hourly, grace 20m: a 11:00 run is good until 12:20.
	s := Evaluate(b, Records{Last: finished(record.Succeeded, noon.Add(-time.Hour))}, noon.Add(-2*time.Hour), noon.Add(10*time.Minute))
	if s.State != Passing || !s.Healthy || s.Overdue || !strings.Contains(s.Output, "succeeded at 2026-11-21T11:01:00Z, 2.0 KiB, kv/x.json.zst") {
		t.Errorf("good run: %+v", s)
	}
	if !s.NextExpected.Equal(noon) || !s.Deadline.Equal(noon.Add(20*time.Minute)) {
		t.Errorf("next %s deadline %s", s.NextExpected, s.Deadline)
	}
	s = Evaluate(b, Records{Last: finished(record.Succeeded, noon.Add(-time.Hour))}, noon, noon.Add(21*time.Minute))
	if s.State != Critical || s.Healthy || !s.Overdue || !strings.HasPrefix(s.Output, "overdue") {
		t.Errorf("overdue: %+v", s)
	}
	s = Evaluate(b, Records{Last: finished(record.Failed, noon.Add(-time.Hour))}, noon, noon)
	if s.State != Critical || s.Healthy || s.Output != "failed at 2026-11-21T11:01:00Z: consul: kv export: connection refused" {
		t.Errorf("failed: %+v", s)
	}
	s = Evaluate(b, Records{}, noon, noon.Add(5*time.Minute))
	if s.State != Warning || !s.Healthy {
		t.Errorf("never ran, not yet due: %+v", s)
	}
	// A run in progress that started after the expected time is not overdue.
	running := &record.Run{Kind: record.KindBackup, Status: record.Running, StartedAt: noon.Add(time.Minute)}
	s = Evaluate(b, Records{Last: finished(record.Succeeded, noon.Add(-time.Hour)), Current: running}, noon, noon.Add(25*time.Minute))
	if s.Overdue || s.Running == nil {
		t.Errorf("running: %+v", s)
	}
}

func TestEvaluateVerify(t *testing.T) {
	b := backup()
	b.Verify = &config.Verify{MaxAge: 24 * time.Hour}
	good := record.Run{Kind: record.KindVerify, Status: record.Succeeded, StartedAt: noon, FinishedAt: ptr(noon.Add(time.Minute)),
		Verify: &record.Verify{BackupID: "20261121T110000.000Z", BackupTime: noon.Add(-time.Hour), RestoreTime: 30 * time.Second, BackupAge: time.Hour}}
	s := Evaluate(b, Records{History: []record.Run{good}}, noon, noon.Add(2*time.Hour))
	if s.Verify == nil || s.Verify.State != Passing || s.Verify.RTO != 30*time.Second {
		t.Errorf("verified: %+v", s.Verify)
	}
	s = Evaluate(b, Records{History: []record.Run{good}}, noon, noon.Add(30*time.Hour))
	if s.Verify.State != Critical {
		t.Errorf("too old: %+v", s.Verify)
	}
	s = Evaluate(b, Records{}, noon, noon.Add(48*time.Hour))
	if s.Verify.State != Critical {
		t.Errorf("never verified: %+v", s.Verify)
	}
	b.Verify = &config.Verify{Schedule: "0 4 * * *"}
	if got := verifyMaxAge(b); got != 72*time.Hour {
		t.Errorf("default max age of a daily drill = %s", got)
	}
}

func ptr[T any](v T) *T { return &v }

// TestNeverRanTurnsOverdue: a backup registered at 09:30 that never ran is
// overdue once its first expected run (10:00) plus the grace (20m) passed,
// however recently health watching began.
func TestNeverRanTurnsOverdue(t *testing.T) {
	b := backup()
	reg := noon.Add(-150 * time.Minute)
	s := Evaluate(b, Records{Registered: &reg}, noon, noon)
	if !s.Overdue || s.Healthy || s.State != Critical || !s.NextExpected.Equal(noon.Add(-2*time.Hour)) {
		t.Fatalf("never ran since 09:30: %+v", s)
	}
	reg = noon.Add(-10 * time.Minute)
	if s := Evaluate(b, Records{Registered: &reg}, noon, noon); s.Overdue || !s.Healthy {
		t.Fatalf("registered 10 minutes ago: %+v", s)
	}
}

// TestFailedDrillIsUnhealthy: the last drill failing turns the backup and
// its verify check critical, even with a recent verified-good backup.
func TestFailedDrillIsUnhealthy(t *testing.T) {
	b := backup()
	b.Verify = &config.Verify{MaxAge: 24 * time.Hour}
	good := record.Run{Kind: record.KindVerify, Status: record.Succeeded, StartedAt: noon, FinishedAt: ptr(noon.Add(time.Minute)),
		Verify: &record.Verify{BackupID: "20261121T110000.000Z", BackupTime: noon.Add(-time.Hour)}}
	failed := record.Run{Kind: record.KindVerify, Status: record.Failed, StartedAt: noon.Add(time.Hour), FinishedAt: ptr(noon.Add(61 * time.Minute)),
		Error: "verify kv: key a missing", Verify: &record.Verify{BackupID: "20261121T130000.000Z", BackupTime: noon.Add(time.Hour)}}
	rec := Records{Last: finished(record.Succeeded, noon.Add(time.Hour)), LastVerify: &failed, History: []record.Run{good, failed}}
	s := Evaluate(b, rec, noon, noon.Add(90*time.Minute))
	if s.Healthy || s.State != Critical || !strings.Contains(s.Output, "key a missing") {
		t.Fatalf("backup: %+v", s)
	}
	if s.Verify.State != Critical || !strings.Contains(s.Verify.Output, "last drill failed on backup 20261121T130000.000Z") {
		t.Fatalf("verify: %+v", s.Verify)
	}
	// The newest verified-good backup is the older one, never the one
	// whose drill just failed, and the reason is the drill's.
	if s.Verify.LastGoodID != "20261121T110000.000Z" || !strings.Contains(s.Reason, "key a missing") ||
		!strings.Contains(s.Verify.Output, "newest verified-good backup is 20261121T110000.000Z") {
		t.Fatalf("newest verified-good: %q, reason %q, output %q", s.Verify.LastGoodID, s.Reason, s.Verify.Output)
	}
	// The same backup ID drilled again and failing takes its pass back.
	again := failed
	again.Verify = &record.Verify{BackupID: "20261121T110000.000Z", BackupTime: noon.Add(-time.Hour)}
	again.StartedAt, again.FinishedAt = noon.Add(2*time.Hour), ptr(noon.Add(121*time.Minute))
	rec.History, rec.LastVerify = []record.Run{good, failed, again}, &again
	if s := Evaluate(b, rec, noon, noon.Add(3*time.Hour)); s.Verify.LastGood != nil || s.Verify.LastGoodID != "" {
		t.Fatalf("a backup whose latest drill failed is still called verified-good: %+v", s.Verify)
	}
	// A run whose own drill failed, and one whose retention failed.
	rec = Records{Last: finished(record.DrillFailed, noon)}
	if s := Evaluate(backup(), rec, noon, noon.Add(time.Minute)); s.Healthy || s.State != Critical {
		t.Fatalf("drill_failed run: %+v", s)
	}
	rec = Records{Last: finished(record.RetentionFailed, noon), History: []record.Run{*finished(record.RetentionFailed, noon)}}
	if s := Evaluate(backup(), rec, noon, noon.Add(time.Minute)); !s.Healthy || s.State != Warning || s.LastSuccess == nil {
		t.Fatalf("retention_failed run: %+v", s)
	}
}

// TestDeadRunIsClosed: a run still "running" past its timeout, the drill,
// retention and a grace is shown as a failed run that died, never as
// running forever; within that time it is running.
func TestDeadRunIsClosed(t *testing.T) {
	b := backup()
	cur := &record.Run{Backup: "kv", Kind: record.KindBackup, ID: "x", Status: record.Running, StartedAt: noon}
	rec := Records{Last: finished(record.Succeeded, noon.Add(-time.Hour)), Current: cur}
	if s := Evaluate(b, rec, noon, noon.Add(20*time.Minute)); s.Running == nil || s.Last.Status != record.Succeeded {
		t.Fatalf("a run 20 minutes in is running: %+v", s)
	}
	s := Evaluate(b, rec, noon, noon.Add(31*time.Minute))
	if s.Running != nil || s.Last == nil || s.Last.Status != record.Failed || s.Healthy ||
		!strings.Contains(s.Reason, "never finished") {
		t.Fatalf("a run 31 minutes in (limit 10m+15m+5m) is dead: %+v", s)
	}
}
