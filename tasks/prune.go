package tasks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/retention"
	"github.com/vigil-backup/vigil/tasks/store"
)

// PrunePlan is what retention would do to one backup's folder.
type PrunePlan struct {
	Keep    []Entry
	Drop    []Entry
	Orphans []store.Object
}

// OrphanAge is how old a data object without a manifest must be before
// retention removes it: older than any run can take, so it is never the
// upload of a run still going.
func OrphanAge(b *config.Backup) time.Duration {
	return max(2*b.Timeout, time.Hour)
}

// PlanPrune applies b.Retain to the backup's folder.
func PlanPrune(b *config.Backup, objs []store.Object, now time.Time) PrunePlan {
	entries, orphans := Catalog(b.Name, objs)
	items := make([]retention.Item, len(entries))
	byID := map[string]Entry{}
	for i, e := range entries {
		items[i] = retention.Item{ID: e.ID, Time: e.Time}
		byID[e.ID] = e
	}
	loc := time.UTC
	if b.TimeZone != "" {
		if l, err := time.LoadLocation(b.TimeZone); err == nil {
			loc = l
		}
	}
	keep, drop := retention.Select(items, b.Retain, now, loc)
	var p PrunePlan
	for _, it := range keep {
		p.Keep = append(p.Keep, byID[it.ID])
	}
	for _, it := range drop {
		p.Drop = append(p.Drop, byID[it.ID])
	}
	for _, o := range orphans {
		if now.Sub(o.Modified) > OrphanAge(b) {
			p.Orphans = append(p.Orphans, o)
		}
	}
	return p
}

// Prune carries out retention. The manifest goes first, so a backup whose
// data delete fails is no longer listed as a backup; its data becomes an
// orphan, removed by a later run. Every failed delete is reported.
//
// Incomplete uploads started before abortBefore are aborted. A run passes
// its own start: it holds the lock, so any older upload belongs to a run
// that died (kill -9) or lost its lock, and aborting it also makes sure
// such a run can never complete it. Without the lock, pass now minus the
// orphan age.
func Prune(ctx context.Context, s store.Store, b *config.Backup, now, abortBefore time.Time) (*record.Retention, error) {
	objs, err := s.List(ctx, b.Name+"/")
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	plan := PlanPrune(b, objs, now)
	res := &record.Retention{Kept: len(plan.Keep)}
	var errs []error
	for _, e := range plan.Drop {
		if err := s.Delete(ctx, e.ManifestKey); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Deleted = append(res.Deleted, e.ID)
		for _, k := range e.DataKeys {
			if err := s.Delete(ctx, k); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, o := range plan.Orphans {
		if err := s.Delete(ctx, o.Key); err != nil {
			errs = append(errs, err)
		}
	}
	if j, ok := s.(store.Janitor); ok {
		if err := j.AbortUploads(ctx, b.Name+"/", abortBefore); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		res.Error = err.Error()
		return res, fmt.Errorf("retention: %w", err)
	}
	return res, nil
}
