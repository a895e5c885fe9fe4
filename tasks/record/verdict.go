package record

import (
	"sort"
	"strings"
	"time"
)

// Verdict states: what the drills say of one backup ID.
const (
	Verified    = "verified"
	DrillFail   = "drill failed"
	NotVerified = "not verified yet"
)

// Verdict is what the drills say of one backup ID. Its latest finished
// drill decides: a later drill that passes clears an earlier failure (a
// scratch server that did not start), and a later one that fails takes
// back an earlier pass (the object changed since).
type Verdict struct {
	BackupID string `json:"backup_id"`
	State    string `json:"state"`
	// At is when the deciding drill finished; zero when not verified yet.
	At time.Time `json:"at,omitzero"`
	// Reason is why the drill failed, in one line.
	Reason string `json:"reason,omitempty"`
	// BackupTime is when the backup was taken; RTO and RPO are the
	// deciding drill's restore time and the backup's age then.
	BackupTime time.Time     `json:"backup_time,omitzero"`
	RTO        time.Duration `json:"rto_ns,omitempty"`
	RPO        time.Duration `json:"rpo_ns,omitempty"`
	// Drill is the deciding drill's record.
	Drill *Run `json:"-"`
}

// Good reports whether the backup's latest drill passed.
func (v Verdict) Good() bool { return v.State == Verified }

// Line is the verdict in a few words: "verified 2026-12-05T10:00:00Z",
// "drill failed: <reason>", "not verified yet".
func (v Verdict) Line() string {
	switch v.State {
	case Verified:
		return "verified " + v.At.UTC().Format(time.RFC3339)
	case DrillFail:
		return "drill failed: " + v.Reason
	}
	return NotVerified
}

// Verdicts are the verdicts of the backup IDs that drills have named.
type Verdicts map[string]Verdict

// ReadVerdicts gives each backup ID drilled in runs the verdict of its
// latest finished drill. runs may repeat a run (the history and the last
// drill record) and come in any order; drills that failed before they
// chose a backup name no ID and decide nothing here.
func ReadVerdicts(runs ...[]Run) Verdicts {
	out := Verdicts{}
	for _, rs := range runs {
		for i := range rs {
			r := &rs[i]
			if r.Kind != KindVerify || r.Verify == nil || r.Verify.BackupID == "" || r.FinishedAt == nil {
				continue
			}
			if r.Status != Succeeded && r.Status != Failed {
				continue
			}
			id := r.Verify.BackupID
			if prev, ok := out[id]; ok && !r.FinishedAt.After(prev.At) {
				continue
			}
			v := Verdict{BackupID: id, State: Verified, At: *r.FinishedAt, BackupTime: r.Verify.BackupTime,
				RTO: r.Verify.RestoreTime, RPO: r.Verify.BackupAge, Drill: r}
			if r.Status == Failed {
				v.State, v.Reason = DrillFail, OneLine(r.Error)
			}
			out[id] = v
		}
	}
	return out
}

// Of is the verdict of one backup ID: NotVerified when no drill named it.
func (vs Verdicts) Of(id string) Verdict {
	if v, ok := vs[id]; ok {
		return v
	}
	return Verdict{BackupID: id, State: NotVerified}
}

// NewestVerified is the verdict of the newest backup (by when it was
// taken) whose own latest drill passed, or nil. It is the only backup
// that may be called the newest verified-good one.
func (vs Verdicts) NewestVerified() *Verdict {
	var best *Verdict
	for _, v := range vs {
		if !v.Good() {
			continue
		}
		if best == nil || v.BackupTime.After(best.BackupTime) || (v.BackupTime.Equal(best.BackupTime) && v.BackupID > best.BackupID) {
			v := v
			best = &v
		}
	}
	return best
}

// Deciding is the drill records that decide the newest verified backup
// and every backup newer than it: what a reader must keep of a history so
// that ReadVerdicts on the kept runs gives the same NewestVerified and
// the same verdicts for every newer ID. Oldest first.
func (vs Verdicts) Deciding() []Run {
	newest := vs.NewestVerified()
	var out []Run
	for _, v := range vs {
		if v.Drill == nil {
			continue
		}
		if newest == nil || v.BackupID == newest.BackupID || v.BackupTime.After(newest.BackupTime) {
			out = append(out, *v.Drill)
		}
	}
	sortRuns(out)
	return out
}

// Failed lists the IDs whose latest drill failed, newest backup first.
func (vs Verdicts) Failed() []Verdict {
	var out []Verdict
	for _, v := range vs {
		if v.State == DrillFail {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].BackupID > out[j].BackupID })
	return out
}

// OneLine is the first line of s, at most 300 characters.
func OneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
