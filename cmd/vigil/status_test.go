package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/tasks/health"
	"github.com/vigil-backup/vigil/tasks/record"
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
	printStatus(&out, statuses, checks, "vigil-serve-team", now)
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
	printStatus(&out, statuses, checks, "vigil-serve-team", now)
	if strings.Contains(out.String(), "stale") {
		t.Errorf("checks that agree marked stale:\n%s", out.String())
	}
}
