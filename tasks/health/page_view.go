package health

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/tasks/record"
)

// Conditions a backup's row shows, worst first: the one place that names
// a status for people (the check state is Consul's).
const (
	CondFailing      = "failing"
	CondOverdue      = "overdue"
	CondDrillFailing = "drill failing"
	// CondPartial: the last run left some destinations without a copy.
	CondPartial  = "partial"
	CondWarning  = "warning"
	CondNeverRan = "never ran"
	CondPassing  = "passing"
)

var condRank = map[string]int{CondFailing: 0, CondOverdue: 1, CondDrillFailing: 2, CondPartial: 3, CondWarning: 4, CondNeverRan: 5, CondPassing: 6}

// Conditions lists the conditions in the order the fleet page sorts them.
var Conditions = []string{CondFailing, CondOverdue, CondDrillFailing, CondPartial, CondWarning, CondNeverRan, CondPassing}

// Condition is what a status means for the person reading the page.
func Condition(s Status) string {
	switch {
	case s.Overdue:
		return CondOverdue
	case s.Last != nil && s.Last.Status == record.Failed:
		return CondFailing
	case s.Last != nil && s.Last.Status == record.DrillFailed,
		s.Verify != nil && s.Verify.State == Critical:
		return CondDrillFailing
	case s.Last != nil && s.Last.Status == record.Partial:
		return CondPartial
	case s.Last == nil:
		return CondNeverRan
	case s.State == Warning:
		return CondWarning
	}
	return CondPassing
}

// stamp is a time for the page: UTC, to the minute, with its age beside.
type when struct {
	UTC, Rel, ISO string
}

func at(t time.Time, now time.Time) when {
	if t.IsZero() {
		return when{}
	}
	// The same format as the check output and vigil status (stamp): one
	// format on the page, with the age beside it.
	return when{UTC: stamp(t), Rel: relative(t, now), ISO: t.UTC().Format(time.RFC3339)}
}

// relative says how far t is from now in one unit: "3h ago", "in 20m".
func relative(t, now time.Time) string {
	d := now.Sub(t)
	suffix := " ago"
	if d < 0 {
		d, suffix = -d, ""
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh", int(d.Hours()))
	default:
		s = fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	if suffix == "" {
		return "in " + s
	}
	return s + suffix
}

// short is a duration for people: 1.2s, 3m4s, 2h5m.
func short(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

// row is one backup on the fleet page.
type row struct {
	Name, Type, Cond, CondClass string
	// Verdict is the drills' verdict on the newest backup; Reason why the
	// backup is not passing, clipped to a line or two (ReasonFull, in
	// full, is its title and on the backup's page).
	Verdict, Reason, ReasonFull string
	Last, Next, VerifiedGood    when
	VerifiedAge, VerifiedID     string
	Size                        string
	Chart                       chart
	Running                     bool
	// Copies are the destinations of a backup with several: each one's
	// last copy and the age of its newest good one.
	Copies []copyCell
	// Unreadable counts the manifests the last retention kept because
	// they cannot be read.
	Unreadable int
}

func condClass(c string) string { return strings.ReplaceAll(c, " ", "-") }

// fleetRows builds the rows of statuses that pass the filters, worst
// condition first, then by name.
func fleetRows(statuses []Status, spark func(string) chart, cond, typ string, now time.Time) []row {
	var rows []row
	for _, s := range statuses {
		c := Condition(s)
		if (cond != "" && c != cond) || (typ != "" && s.Type != typ) {
			continue
		}
		r := row{Name: s.Backup, Type: s.Type, Cond: c, CondClass: condClass(c), Verdict: newestVerdict(s),
			Reason: clip(s.Reason, reasonChars), ReasonFull: s.Reason, Next: at(s.NextExpected, now), Running: s.Running != nil}
		if s.Last != nil {
			r.Last = at(s.Last.StartedAt, now)
			if s.Last.Size > 0 {
				r.Size = record.HumanBytes(s.Last.Size)
			}
		}
		if s.Verify != nil && s.Verify.LastGood != nil {
			r.VerifiedGood = at(*s.Verify.LastGood, now)
			r.VerifiedAge = short(now.Sub(*s.Verify.LastGood))
			r.VerifiedID = s.Verify.LastGoodID
		}
		r.Copies = copyCells(s, now)
		r.Chart = spark(s.Backup)
		r.Unreadable = unreadableKept(s)
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if a, b := condRank[rows[i].Cond], condRank[rows[j].Cond]; a != b {
			return a < b
		}
		return rows[i].Name < rows[j].Name
	})
	return rows
}

// reasonChars is how much of a reason a fleet row shows: with the cell's
// width, two lines at most.
const reasonChars = 110

// clip shortens s to n characters with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// newestVerdict is the drills' verdict on the backup's newest backup, ""
// when the backup has no drills or no backup yet.
func newestVerdict(s Status) string {
	if s.Verify == nil || s.Last == nil || !s.Last.BackupWritten() {
		return ""
	}
	return s.Verdicts.Of(s.Last.ID).State
}

// unreadableKept is how many manifests the last retention kept because
// they cannot be read.
func unreadableKept(s Status) int {
	if s.Last == nil || s.Last.Retention == nil {
		return 0
	}
	return len(s.Last.Retention.Quarantined)
}

// pointsOf is the points of runs of kind.
func pointsOf(ps []point, kind string) []point {
	var out []point
	for _, p := range ps {
		if p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

// copyCell is one destination on the page.
type copyCell struct {
	Name, Kind, State string
	Good              bool
	NewestGood        when
	Error             string
}

// copyCells are the page's view of a status's destinations.
func copyCells(s Status, now time.Time) []copyCell {
	var out []copyCell
	for _, c := range s.Copies {
		cell := copyCell{Name: c.Storage, Kind: c.Kind, Good: c.LastGood, Error: c.Error, State: "good"}
		if !c.LastGood {
			cell.State = "failed"
		}
		if c.NewestGood != nil {
			cell.NewestGood = at(*c.NewestGood, now)
		}
		out = append(out, cell)
	}
	return out
}
