// Package health turns run records into each backup's health: the Consul
// check states `vigil serve` keeps, its HTTP status answers, its metrics,
// and `vigil status`. A backup is unhealthy when its last run failed, or
// when it is overdue: the run the cron expected, plus a grace, has not
// happened.
package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/record"
)

// Consul check states.
const (
	Passing  = "passing"
	Warning  = "warning"
	Critical = "critical"
)

// Status is one backup's health.
type Status struct {
	Backup       string       `json:"backup"`
	Type         string       `json:"type"`
	Schedule     string       `json:"schedule"`
	TimeZone     string       `json:"time_zone,omitempty"`
	Running      *record.Run  `json:"running"`
	Last         *record.Run  `json:"last"`
	LastSuccess  *time.Time   `json:"last_success,omitempty"`
	NextExpected time.Time    `json:"next_expected"`
	Deadline     time.Time    `json:"overdue_after"`
	Overdue      bool         `json:"overdue"`
	Healthy      bool         `json:"healthy"`
	State        string       `json:"check_state"`
	Output       string       `json:"check_output"`
	Verify       *VerifyState `json:"verification,omitempty"`
}

// VerifyState is the health of a backup's drills: the last drill, and
// whether a verified-good backup is younger than MaxAge.
type VerifyState struct {
	Last          *record.Run   `json:"last"`
	LastGood      *time.Time    `json:"last_verified_good_backup,omitempty"`
	MaxAge        time.Duration `json:"max_age_ns"`
	State         string        `json:"check_state"`
	Output        string        `json:"check_output"`
	RTO           time.Duration `json:"rto_ns,omitempty"`
	RPO           time.Duration `json:"rpo_ns,omitempty"`
	LastGoodDrill *time.Time    `json:"last_good_drill,omitempty"`
}

// Records is what Evaluate reads about one backup.
type Records struct {
	// Current is the backup run in progress (drills have their own).
	Current, Last, LastVerify *record.Run
	// History, oldest first, gives the last success and last good drill.
	History []record.Run
	// Registered is when the backup's job was first registered, if known:
	// a backup that never ran is overdue from its first expected run
	// after it.
	Registered *time.Time
}

// Load reads a backup's records from a book.
func Load(ctx context.Context, book record.Book, name string) (Records, error) {
	var r Records
	var err error
	if r.Current, err = book.Current(ctx, name, record.KindBackup); err != nil {
		return r, err
	}
	if r.Registered, err = book.Registered(ctx, name); err != nil {
		return r, err
	}
	if r.Last, err = book.Last(ctx, name, record.KindBackup); err != nil {
		return r, err
	}
	if r.LastVerify, err = book.Last(ctx, name, record.KindVerify); err != nil {
		return r, err
	}
	r.History, err = book.History(ctx, name)
	return r, err
}

// Evaluate computes a backup's health at now. When the backup never ran,
// its registration time (or, unknown, since: when watching began) stands
// in for the last run, so it turns overdue once its first expected run
// plus the grace has passed.
//
// The backup's check is critical when its last run failed, its last drill
// failed (after the backup, or scheduled), or it is overdue; warning when
// retention failed after a good backup, or it has not run yet.
func Evaluate(b *config.Backup, rec Records, since, now time.Time) Status {
	s := Status{Backup: b.Name, Type: b.Type, Schedule: b.Schedule, TimeZone: b.TimeZone, Last: rec.Last}
	if rec.Current != nil && rec.Current.Status == record.Running && rec.Current.Kind == record.KindBackup {
		s.Running = rec.Current
	}
	for i := len(rec.History) - 1; i >= 0; i-- {
		if h := rec.History[i]; h.BackupWritten() && h.FinishedAt != nil {
			t := *h.FinishedAt
			s.LastSuccess = &t
			break
		}
	}
	ref := since
	if rec.Registered != nil {
		ref = *rec.Registered
	}
	if rec.Last != nil {
		ref = rec.Last.StartedAt
	}
	if s.Running != nil && s.Running.StartedAt.After(ref) {
		ref = s.Running.StartedAt
	}
	s.NextExpected = next(b.Schedule, b.TimeZone, ref)
	s.Deadline = s.NextExpected.Add(b.OverdueGrace())
	s.Overdue = !s.NextExpected.IsZero() && now.After(s.Deadline)
	switch {
	case s.Overdue:
		s.State = Critical
		s.Output = fmt.Sprintf("overdue: no run since %s; one was expected at %s (grace %s)", stamp(ref), stamp(s.NextExpected), b.OverdueGrace())
	case rec.Last == nil:
		s.State = Warning
		s.Output = fmt.Sprintf("no run yet; the first is expected at %s", stamp(s.NextExpected))
	case rec.Last.Status == record.Failed:
		s.State = Critical
		s.Output = "failed " + summary(rec.Last)
	case rec.Last.Status == record.DrillFailed:
		s.State = Critical
		s.Output = "backup written but its drill failed " + summary(rec.Last)
	case rec.Last.Status == record.RetentionFailed:
		s.State = Warning
		s.Output = "backup written but retention failed " + summary(rec.Last)
	default:
		s.State = Passing
		s.Output = "succeeded " + summary(rec.Last)
	}
	if b.Verify != nil {
		s.Verify = evaluateVerify(b, rec, since, now)
		if s.State == Passing && rec.LastVerify != nil && rec.LastVerify.Status == record.Failed {
			s.State = Critical
			s.Output = "the last drill failed: " + firstLine(rec.LastVerify.Error)
		}
	}
	s.Healthy = s.State == Passing || s.State == Warning
	return s
}

func evaluateVerify(b *config.Backup, rec Records, since, now time.Time) *VerifyState {
	v := &VerifyState{Last: rec.LastVerify, MaxAge: verifyMaxAge(b)}
	for i := len(rec.History) - 1; i >= 0; i-- {
		h := rec.History[i]
		if h.Kind == record.KindVerify && h.Status == record.Succeeded && h.Verify != nil {
			bt, dt := h.Verify.BackupTime, *h.FinishedAt
			v.LastGood, v.LastGoodDrill = &bt, &dt
			v.RTO, v.RPO = h.Verify.RestoreTime, h.Verify.BackupAge
			break
		}
	}
	switch {
	case rec.LastVerify != nil && rec.LastVerify.Status == record.Failed:
		v.State = Critical
		v.Output = "the last drill failed: " + firstLine(rec.LastVerify.Error)
		if v.LastGood != nil {
			v.Output += fmt.Sprintf("; the last verified-good backup is from %s", stamp(*v.LastGood))
		}
		return v
	case v.LastGood != nil && now.Sub(*v.LastGood) <= v.MaxAge:
		v.State = Passing
		// No age in the output: it would change at every evaluation, and
		// the serve leader writes a check only when it changes.
		v.Output = fmt.Sprintf("last verified-good backup from %s (limit %s)", stamp(*v.LastGood), v.MaxAge)
	case v.LastGood == nil && now.Sub(since) <= v.MaxAge:
		v.State = Warning
		v.Output = "no drill has passed yet"
	case v.LastGood == nil:
		v.State = Critical
		v.Output = fmt.Sprintf("no backup has passed a drill within %s", v.MaxAge)
	default:
		v.State = Critical
		v.Output = fmt.Sprintf("the last verified-good backup is from %s, older than the %s limit", stamp(*v.LastGood), v.MaxAge)
	}
	return v
}

// verifyMaxAge is the spec's max_age, or by default three periods of the
// drill's schedule (or the backup's, for drills after each backup).
func verifyMaxAge(b *config.Backup) time.Duration {
	if b.Verify.MaxAge > 0 {
		return b.Verify.MaxAge
	}
	sched := b.Verify.Schedule
	if sched == "" {
		sched = b.Schedule
	}
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	n1 := next(sched, "", t0)
	period := next(sched, "", n1).Sub(n1)
	return 3*period + b.Verify.MaxDuration
}

func next(schedule, tz string, after time.Time) time.Time {
	if runs := config.NextRuns(schedule, tz, after, 1); len(runs) == 1 {
		return runs[0].UTC()
	}
	return time.Time{}
}

// summary is a run in one line: time, size, object or error.
func summary(r *record.Run) string {
	at := stamp(r.StartedAt)
	if r.FinishedAt != nil {
		at = stamp(*r.FinishedAt)
	}
	if r.Status != record.Succeeded {
		return fmt.Sprintf("at %s: %s", at, firstLine(r.Error))
	}
	return fmt.Sprintf("at %s, %s, %s", at, record.HumanBytes(r.Size), r.Object)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
