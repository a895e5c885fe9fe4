package record

import (
	"testing"
	"time"
)

func drillOf(id string, backupAt, finished time.Time, status, err string) Run {
	return Run{Kind: KindVerify, Status: status, StartedAt: finished.Add(-time.Minute), FinishedAt: &finished, Error: err,
		Verify: &Verify{BackupID: id, BackupTime: backupAt}}
}

// TestVerdicts: the latest drill of each ID decides; NewestVerified names
// only an ID whose own latest drill passed; Deciding keeps what gives the
// same answers.
func TestVerdicts(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	a, b, c := "20261205T100000.000Z", "20261205T110000.000Z", "20261205T120000.000Z"
	hist := []Run{
		drillOf(a, t0, t0.Add(5*time.Minute), Succeeded, ""),
		drillOf(b, t0.Add(time.Hour), t0.Add(65*time.Minute), Failed, "verify x: scratch server did not start"),
		drillOf(b, t0.Add(time.Hour), t0.Add(70*time.Minute), Succeeded, ""), // a retry passes
		drillOf(c, t0.Add(2*time.Hour), t0.Add(125*time.Minute), Failed, "checksum check failed\ndetails"),
		{Kind: KindVerify, Status: Failed, StartedAt: t0, FinishedAt: &t0, Error: "store unreachable"}, // names no ID
		{Kind: KindBackup, Status: Succeeded, StartedAt: t0},
	}
	vs := ReadVerdicts(hist)
	if len(vs) != 3 {
		t.Fatalf("verdicts: %+v", vs)
	}
	if v := vs.Of(b); v.State != Verified || !v.Good() {
		t.Errorf("b passed its latest drill: %+v", v)
	}
	if v := vs.Of(c); v.State != DrillFail || v.Reason != "checksum check failed" || v.Line() != "drill failed: checksum check failed" {
		t.Errorf("c failed: %+v", v)
	}
	if v := vs.Of("20261205T130000.000Z"); v.State != NotVerified || v.Line() != NotVerified {
		t.Errorf("never drilled: %+v", v)
	}
	if n := vs.NewestVerified(); n == nil || n.BackupID != b {
		t.Fatalf("newest verified = %+v, want %s", n, b)
	}
	if f := vs.Failed(); len(f) != 1 || f[0].BackupID != c {
		t.Errorf("failed: %+v", f)
	}
	// The same runs in another order, with the last drill repeated.
	rev := []Run{hist[3], hist[2], hist[1], hist[0]}
	if n := ReadVerdicts(rev, hist[3:4]).NewestVerified(); n == nil || n.BackupID != b {
		t.Errorf("order changed the answer: %+v", n)
	}
	kept := vs.Deciding()
	again := ReadVerdicts(kept)
	if n := again.NewestVerified(); n == nil || n.BackupID != b || again.Of(c).State != DrillFail {
		t.Errorf("Deciding lost the answer: kept %d runs, %+v", len(kept), again)
	}
	if len(kept) != 2 {
		t.Errorf("Deciding kept %d runs, want the pass of b and the failure of c", len(kept))
	}
	// b drilled again and failing: a is the newest verified now.
	hist = append(hist, drillOf(b, t0.Add(time.Hour), t0.Add(3*time.Hour), Failed, "object changed"))
	if n := ReadVerdicts(hist).NewestVerified(); n == nil || n.BackupID != a {
		t.Errorf("after b's pass was taken back: %+v", n)
	}
}
