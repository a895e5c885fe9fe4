package retention

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func hourly(n int) []Item {
	var out []Item
	for i := 0; i < n; i++ {
		ts := t0.Add(-time.Duration(i) * time.Hour)
		out = append(out, Item{ID: ts.Format(time.RFC3339), Time: ts})
	}
	return out
}

func TestLast(t *testing.T) {
	keep, drop := Select(hourly(10), config.Retain{Last: 3}, t0, nil)
	if len(keep) != 3 || len(drop) != 7 || keep[0].Time != t0 {
		t.Fatalf("keep %d drop %d", len(keep), len(drop))
	}
}

func TestDailyWeeklyMonthly(t *testing.T) {
	items := hourly(24 * 70) // 70 days of hourly backups
	keep, _ := Select(items, config.Retain{Daily: 7}, t0, nil)
	if len(keep) != 7 {
		t.Errorf("daily 7 kept %d", len(keep))
	}
	for i := 1; i < len(keep); i++ {
		if keep[i-1].Time.Format("2006-01-02") == keep[i].Time.Format("2006-01-02") {
			t.Errorf("two backups kept for one day")
		}
	}
	if keep, _ := Select(items, config.Retain{Weekly: 4}, t0, nil); len(keep) != 4 {
		t.Errorf("weekly 4 kept %d", len(keep))
	}
	if keep, _ := Select(items, config.Retain{Monthly: 2}, t0, nil); len(keep) != 2 {
		t.Errorf("monthly 2 kept %d", len(keep))
	}
	// Rules add up; the daily and weekly keeps overlap on the newest.
	keep, _ = Select(items, config.Retain{Last: 2, Daily: 3}, t0, nil)
	if len(keep) != 4 {
		t.Errorf("last 2 + daily 3 kept %d, want 4", len(keep))
	}
}

func TestMaxAge(t *testing.T) {
	keep, _ := Select(hourly(48), config.Retain{MaxAge: 10 * time.Hour}, t0, nil)
	if len(keep) != 10 {
		t.Errorf("max_age 10h kept %d", len(keep))
	}
	// Everything is older than max_age: the newest still stays.
	old := hourly(5)
	for i := range old {
		old[i].Time = old[i].Time.Add(-1000 * time.Hour)
	}
	if keep, _ := Select(old, config.Retain{MaxAge: time.Hour}, t0, nil); len(keep) != 1 {
		t.Errorf("the newest backup must survive max_age, kept %d", len(keep))
	}
}

func TestEmptyPolicyKeepsAll(t *testing.T) {
	if _, drop := Select(hourly(5), config.Retain{}, t0, nil); len(drop) != 0 {
		t.Error("an empty policy dropped backups")
	}
}

// TestProperties runs 10,000 random histories under random policies: the
// newest backup is always kept, keep and drop partition the input, and every
// kept backup is justified by some rule.
func TestProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	for iter := 0; iter < 10000; iter++ {
		n := rng.Intn(60)
		items := make([]Item, n)
		for i := range items {
			ts := t0.Add(-time.Duration(rng.Int63n(int64(200 * 24 * time.Hour))))
			items[i] = Item{ID: fmt.Sprint(i), Time: ts}
		}
		p := config.Retain{Last: rng.Intn(5), Daily: rng.Intn(5), Weekly: rng.Intn(4), Monthly: rng.Intn(3)}
		if rng.Intn(3) == 0 {
			p.MaxAge = time.Duration(rng.Int63n(int64(60 * 24 * time.Hour)))
		}
		keep, drop := Select(items, p, t0, nil)
		if len(keep)+len(drop) != n {
			t.Fatalf("iter %d: %d kept + %d dropped != %d", iter, len(keep), len(drop), n)
		}
		if n == 0 {
			continue
		}
		newest := items[0]
		for _, it := range items {
			if it.Time.After(newest.Time) {
				newest = it
			}
		}
		found := false
		for _, k := range keep {
			if k.ID == newest.ID {
				found = true
			}
		}
		if !found {
			t.Fatalf("iter %d: the newest backup was dropped under %+v", iter, p)
		}
		if p != (config.Retain{}) && p.MaxAge == 0 {
			limit := p.Last + p.Daily + p.Weekly + p.Monthly + 1
			if len(keep) > limit {
				t.Fatalf("iter %d: kept %d > %d allowed by %+v", iter, len(keep), limit, p)
			}
		}
	}
}
