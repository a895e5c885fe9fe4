package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/tasks/health"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store/local"
)

// A Consul check that says other than the records (no vigil serve keeps
// it) is marked stale, with how to start vigil serve; one that agrees is
// shown as it is.
func TestStatusMarksStaleChecks(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	failed := &record.Run{Status: record.Failed, StartedAt: now.Add(-time.Minute)}
	statuses := []health.Status{
		{Backup: "kv", Type: "consul_kv", Last: failed, State: "critical"},
		{Backup: "snap", Type: "consul_snapshot", Last: &record.Run{Status: record.Succeeded, StartedAt: now.Add(-time.Hour)}, State: "passing"},
	}
	checks := map[string]string{health.CheckID("kv"): "passing", health.CheckID("snap"): "passing"}
	var out bytes.Buffer
	printStatus(&out, statuses, checks, "vigil-serve-team", now, false)
	lines := strings.Split(out.String(), "\n")
	if !strings.Contains(lines[1], "passing (stale: the records say critical)") {
		t.Errorf("kv's check not marked stale:\n%s", out.String())
	}
	if strings.Contains(lines[2], "stale") {
		t.Errorf("snap's check marked stale:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "vigil apply") || !strings.Contains(out.String(), "nomad job status vigil-serve-team") {
		t.Errorf("no way to start vigil serve given:\n%s", out.String())
	}
	out.Reset()
	checks[health.CheckID("kv")] = "critical"
	printStatus(&out, statuses, checks, "vigil-serve-team", now, false)
	if strings.Contains(out.String(), "stale") {
		t.Errorf("checks that agree marked stale:\n%s", out.String())
	}
}

// A standalone config (no control Consul) has its run records beside the
// backups: status reads them there, and a failed last run exits 2.
func TestStatusStandalone(t *testing.T) {
	dir, backups := t.TempDir(), t.TempDir()
	spec := `
consul {
  enabled = false
}
storage "local" "disk" {
  path = "` + backups + `"
}
backup "consul_kv" "kv" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
}
`
	if err := os.WriteFile(filepath.Join(dir, "spec.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := local.New(backups)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now().Add(-2 * time.Minute)
	finished := started.Add(time.Second)
	run := record.Run{Backup: "kv", Kind: record.KindBackup, ID: "r1", Status: record.Failed, StartedAt: started, FinishedAt: &finished, Error: "consul: connection refused"}
	if err := (&record.Store{S: s}).Finish(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	code, out, errs := vigil(t, "", "status", "-config", dir)
	if code != 2 || !strings.Contains(out, "failed") || !strings.Contains(out, "(standalone)") {
		t.Errorf("standalone status: exit %d\n%s%s", code, out, errs)
	}
	// The reason is in the table, not only in -json; -v prints it whole.
	if !strings.Contains(out, "Reason") || !strings.Contains(out, "failed at ") || !strings.Contains(out, "consul: conne") {
		t.Errorf("no reason in the table:\n%s", out)
	}
	if code, out, _ = vigil(t, "", "status", "-v", "-config", dir); code != 2 || !strings.Contains(out, "[1] kv: failed at ") ||
		!strings.Contains(out, "consul: connection refused") {
		t.Errorf("status -v: exit %d\n%s", code, out)
	}
}

// The Reason column clips a long reason and leaves a healthy one empty.
func TestStatusReasonColumn(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	long := "the last drill failed on backup 20261130T110000.000Z: checksum check failed, no restore attempted: sha256 mismatch"
	statuses := []health.Status{
		{Backup: "kv", Type: "consul_kv", Last: &record.Run{Status: record.Succeeded, StartedAt: now}, State: "critical", Reason: long},
		{Backup: "ok", Type: "consul_kv", Last: &record.Run{Status: record.Succeeded, StartedAt: now}, State: "passing"},
	}
	var out bytes.Buffer
	printStatus(&out, statuses, nil, "", now, false)
	lines := strings.Split(out.String(), "\n")
	if !strings.Contains(lines[1], "the last drill failed on backup 20261130T110000.000Z") || strings.Contains(lines[1], "sha256 mismatch") ||
		!strings.HasSuffix(strings.TrimSpace(lines[1]), "…") {
		t.Errorf("long reason not clipped:\n%s", out.String())
	}
	if !strings.HasSuffix(strings.TrimSpace(lines[2]), "-") {
		t.Errorf("a passing backup shows a reason:\n%s", out.String())
	}
}
