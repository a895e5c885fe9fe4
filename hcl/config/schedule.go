package config

import (
	"time"

	"github.com/hashicorp/cronexpr"
)

// NextRuns is when Nomad's periodic scheduler starts a schedule next, n
// times after the given instant, read in time zone tz ("" is UTC) and
// returned in that zone. It is empty for a schedule Nomad would refuse.
func NextRuns(schedule, tz string, after time.Time, n int) []time.Time {
	e, err := cronexpr.Parse(schedule)
	if err != nil {
		return nil
	}
	loc := time.UTC
	if tz != "" {
		if l, err := time.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	var out []time.Time
	t := after.In(loc)
	for len(out) < n {
		if t = e.Next(t); t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}
