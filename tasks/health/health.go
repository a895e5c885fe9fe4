// Package health turns run records into each backup's health: the Consul
// check states `vigil serve` keeps, its HTTP status answers, its metrics,
// and `vigil status`. A backup is unhealthy when its last run failed, or
// when it is overdue: the run the cron expected, plus a grace, has not
// happened.
package health

import (
	"context"
	"fmt"
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
	Backup       string      `json:"backup"`
	Type         string      `json:"type"`
	Schedule     string      `json:"schedule"`
	TimeZone     string      `json:"time_zone,omitempty"`
	Running      *record.Run `json:"running"`
	Last         *record.Run `json:"last"`
	LastSuccess  *time.Time  `json:"last_success,omitempty"`
	NextExpected time.Time   `json:"next_expected"`
	Deadline     time.Time   `json:"overdue_after"`
	Overdue      bool        `json:"overdue"`
	Healthy      bool        `json:"healthy"`
	State        string      `json:"check_state"`
	Output       string      `json:"check_output"`
	// Reason is why the backup is not passing, in one line ("" when it
	// is): the backup's own failure first, then its drills'.
	Reason string       `json:"reason,omitempty"`
	Verify *VerifyState `json:"verification,omitempty"`
	// Copies are the state of each destination of a backup with
	// several, in the spec's order.
	Copies []CopyState `json:"copies,omitempty"`
	// Verdicts are the drills' verdicts on the backup IDs they named.
	Verdicts record.Verdicts `json:"-"`
}

// VerifyState is the health of a backup's drills: the last drill, and
// whether a verified-good backup is younger than MaxAge. The verified-good
// backup is the newest whose own latest drill passed
// (record.Verdicts.NewestVerified): never one whose drill failed since.
type VerifyState struct {
	Last          *record.Run   `json:"last"`
	LastGood      *time.Time    `json:"last_verified_good_backup,omitempty"`
	LastGoodID    string        `json:"last_verified_good_id,omitempty"`
	MaxAge        time.Duration `json:"max_age_ns"`
	State         string        `json:"check_state"`
	Output        string        `json:"check_output"`
	RTO           time.Duration `json:"rto_ns,omitempty"`
	RPO           time.Duration `json:"rpo_ns,omitempty"`
	LastGoodDrill *time.Time    `json:"last_good_drill,omitempty"`
}

// CopyState is one destination of a backup: whether the last run's copy
// there is good (and why not), and when its newest good copy was taken.
type CopyState struct {
	Storage    string     `json:"storage"`
	Kind       string     `json:"kind"`
	LastGood   bool       `json:"last_good"`
	Error      string     `json:"error,omitempty"`
	NewestGood *time.Time `json:"newest_good,omitempty"`
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
	if cur := rec.Current; cur != nil && cur.Status == record.Running && cur.Kind == record.KindBackup {
		if dead := closeDead(cur, runLimit(b), now); dead != nil {
			// Newer than the last finished run: it is the last run, and
			// it failed. Older: a later run finished, and says more.
			if rec.Last == nil || dead.StartedAt.After(rec.Last.StartedAt) {
				s.Last = dead
			}
		} else {
			s.Running = cur
		}
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
	if s.Last != nil {
		ref = s.Last.StartedAt
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
	case s.Last == nil:
		s.State = Warning
		s.Output = fmt.Sprintf("no run yet; the first is expected at %s", stamp(s.NextExpected))
	case s.Last.Status == record.Failed:
		s.State = Critical
		s.Output = "failed " + summary(s.Last)
	case s.Last.Status == record.DrillFailed:
		s.State = Critical
		s.Output = "backup written but its drill failed " + summary(s.Last)
	case s.Last.Status == record.Partial:
		s.State = Critical
		s.Output = "partial " + summary(s.Last)
	case s.Last.Status == record.RetentionFailed:
		s.State = Warning
		s.Output = "backup written but retention failed " + summary(s.Last)
	default:
		s.State = Passing
		s.Output = "succeeded " + summary(s.Last)
	}
	if s.State != Passing {
		s.Reason = s.Output
	}
	s.Copies = copyStates(b, s.Last, rec.History)
	s.Verdicts = record.ReadVerdicts(rec.History, runs(rec.LastVerify))
	if b.Verify != nil {
		s.Verify = evaluateVerify(b, rec, s.Verdicts, since, now)
		if s.State == Passing && s.Verify.State != Passing {
			s.Reason = s.Verify.Output
		}
		if s.State == Passing && rec.LastVerify != nil && rec.LastVerify.Status == record.Failed {
			s.State = Critical
			s.Output = s.Verify.Output
		}
	}
	s.Healthy = s.State == Passing || s.State == Warning
	return s
}

// lastOrNil is the last drill, nil when v is.
func (v *VerifyState) lastOrNil() *record.Run {
	if v == nil {
		return nil
	}
	return v.Last
}

// runs is r as a list: none when r is nil.
func runs(r *record.Run) []record.Run {
	if r == nil {
		return nil
	}
	return []record.Run{*r}
}

// runLimit is how long a backup run may be "running" before a reader
// calls it dead: its timeout, the drill after it, retention, and a grace
// for the record writes.
func runLimit(b *config.Backup) time.Duration {
	d := b.Timeout + retentionLimit + deadGrace
	if b.Verify != nil && b.Verify.AfterBackup {
		d += b.Verify.MaxDuration
	}
	return d
}

// retentionLimit is the longest retention pass after a backup
// (tasks.retentionTimeout); deadGrace covers a slow record write.
const (
	retentionLimit = 15 * time.Minute
	deadGrace      = 5 * time.Minute
)

// closeDead is the record of a run that is still "running" past limit,
// closed as failed: its process died, or it could not write its record.
// The next run that takes the lock writes the same into the book
// (tasks.closeDeadRun); until then every reader shows it so, never as
// running forever. nil while the run may still be running.
func closeDead(r *record.Run, limit time.Duration, now time.Time) *record.Run {
	if limit <= 0 || now.Sub(r.StartedAt) <= limit {
		return nil
	}
	dead := *r
	end := r.StartedAt.Add(limit)
	dead.FinishedAt, dead.Status, dead.ExitCode = &end, record.Failed, 1
	dead.Error = fmt.Sprintf("the run started at %s never finished: its process died or could not write its record (no record within %s); the next run closes it",
		stamp(r.StartedAt), limit)
	return &dead
}

func evaluateVerify(b *config.Backup, rec Records, verdicts record.Verdicts, since, now time.Time) *VerifyState {
	v := &VerifyState{Last: rec.LastVerify, MaxAge: verifyMaxAge(b)}
	if good := verdicts.NewestVerified(); good != nil {
		bt, dt := good.BackupTime, good.At
		v.LastGood, v.LastGoodDrill, v.LastGoodID = &bt, &dt, good.BackupID
		v.RTO, v.RPO = good.RTO, good.RPO
	}
	switch {
	case rec.LastVerify != nil && rec.LastVerify.Status == record.Failed:
		v.State = Critical
		v.Output = "the last drill failed"
		if rv := rec.LastVerify.Verify; rv != nil && rv.BackupID != "" {
			v.Output += " on backup " + rv.BackupID
		}
		v.Output += ": " + firstLine(rec.LastVerify.Error)
		if v.LastGood != nil {
			v.Output += fmt.Sprintf("; the newest verified-good backup is %s, from %s", v.LastGoodID, stamp(*v.LastGood))
		}
		return v
	case v.LastGood != nil && now.Sub(*v.LastGood) <= v.MaxAge:
		v.State = Passing
		// No age in the output: it would change at every evaluation, and
		// the serve leader writes a check only when it changes.
		v.Output = fmt.Sprintf("newest verified-good backup %s, from %s (limit %s)", v.LastGoodID, stamp(*v.LastGood), v.MaxAge)
	case v.LastGood == nil && now.Sub(since) <= v.MaxAge:
		v.State = Warning
		v.Output = "no drill has passed yet"
	case v.LastGood == nil:
		v.State = Critical
		v.Output = fmt.Sprintf("no backup has passed a drill within %s", v.MaxAge)
	default:
		v.State = Critical
		v.Output = fmt.Sprintf("the newest verified-good backup, %s, is from %s, older than the %s limit", v.LastGoodID, stamp(*v.LastGood), v.MaxAge)
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

func firstLine(s string) string { return record.OneLine(s) }

// copyStates are the destinations of a backup with several (nil with
// one): the last run's copy in each, and the newest run that left a good
// copy there. A run from before the backup had copies counts for its
// first storage.
func copyStates(b *config.Backup, last *record.Run, history []record.Run) []CopyState {
	dests := b.Destinations()
	if len(dests) < 2 {
		return nil
	}
	out := make([]CopyState, len(dests))
	for i, st := range dests {
		out[i] = CopyState{Storage: st.Name, Kind: st.Kind}
		if last != nil {
			if c, ok := copyIn(last, st.Name, i == 0); ok {
				out[i].LastGood, out[i].Error = c.Good, record.OneLine(c.Error)
			} else if last.Kind == record.KindBackup && last.Status == record.Failed {
				out[i].Error = record.OneLine(last.Error)
			}
		}
		for j := len(history) - 1; j >= 0; j-- {
			h := &history[j]
			if c, ok := copyIn(h, st.Name, i == 0); ok && c.Good && h.BackupWritten() && h.FinishedAt != nil {
				t := *h.FinishedAt
				out[i].NewestGood = &t
				break
			}
		}
	}
	return out
}

// copyIn is what run r left in storage name: its record of that copy,
// or, for a run with one destination, the run itself when primary.
func copyIn(r *record.Run, name string, primary bool) (record.Copy, bool) {
	for _, c := range r.Copies {
		if c.Storage == name {
			return c, true
		}
	}
	if len(r.Copies) == 0 && primary && r.Kind == record.KindBackup && r.Status != record.Running && r.Status != record.Skipped {
		return record.Copy{Storage: name, Good: r.BackupWritten(), Error: r.Error}, true
	}
	return record.Copy{}, false
}
