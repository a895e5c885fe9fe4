// Package retention decides which backups a GFS policy keeps. It is pure:
// the caller lists good backups (those with a manifest) and deletes what
// Select drops.
package retention

import (
	"fmt"
	"sort"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
)

// Item is one good backup.
type Item struct {
	ID   string
	Time time.Time
}

// Select splits items into those the policy keeps and those it drops, both
// newest first. The rules add up, as in restic's forget: a backup is kept
// if any rule keeps it.
//   - last N: the N newest;
//   - daily/weekly/monthly N: the newest backup of each of the N newest
//     days / ISO weeks / months that have one, in loc;
//   - max_age D: every backup younger than D.
//
// The newest backup is always kept, whatever the policy. An empty policy
// keeps everything.
func Select(items []Item, p config.Retain, now time.Time, loc *time.Location) (keep, drop []Item) {
	sorted := append([]Item(nil), items...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.After(sorted[j].Time) })
	if p == (config.Retain{}) {
		return sorted, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	kept := make([]bool, len(sorted))
	for i := range sorted {
		if i < p.Last || (p.MaxAge > 0 && now.Sub(sorted[i].Time) < p.MaxAge) {
			kept[i] = true
		}
	}
	bucket(sorted, kept, p.Daily, func(t time.Time) string { return t.In(loc).Format("2006-01-02") })
	bucket(sorted, kept, p.Weekly, func(t time.Time) string {
		y, w := t.In(loc).ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w)
	})
	bucket(sorted, kept, p.Monthly, func(t time.Time) string { return t.In(loc).Format("2006-01") })
	if len(sorted) > 0 {
		kept[0] = true
	}
	for i, it := range sorted {
		if kept[i] {
			keep = append(keep, it)
		} else {
			drop = append(drop, it)
		}
	}
	return keep, drop
}

// bucket keeps the newest item of each of the first n distinct periods.
func bucket(sorted []Item, kept []bool, n int, period func(time.Time) string) {
	if n <= 0 {
		return
	}
	seen := map[string]bool{}
	for i, it := range sorted {
		k := period(it.Time)
		if seen[k] {
			continue
		}
		if len(seen) == n {
			return
		}
		seen[k] = true
		kept[i] = true
	}
}
