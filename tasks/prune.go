package tasks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/retention"
	"github.com/vigil-backup/vigil/tasks/store"
)

// PrunePlan is what retention would do to one backup's folder, and to its
// snapshots when the target keeps them in its own repository.
type PrunePlan struct {
	Keep    []Entry
	Drop    []Entry
	Orphans []store.Object
	// Snapshots are repository snapshots to delete (Elasticsearch).
	Snapshots []plugin.RepoSnapshot
}

// OrphanAge is how old a data object without a manifest must be before
// retention removes it: older than any run can take, so it is never the
// upload of a run still going.
func OrphanAge(b *config.Backup) time.Duration {
	return max(2*b.Timeout, time.Hour)
}

// MakePrunePlan lists the store (and the repository, if any) and plans.
func MakePrunePlan(ctx context.Context, s store.Store, b *config.Backup, now, abortBefore time.Time, repo plugin.Repository) (PrunePlan, error) {
	objs, err := s.List(ctx, b.Name+"/")
	if err != nil {
		return PrunePlan{}, err
	}
	if repo == nil {
		return PlanPrune(b, objs, now), nil
	}
	snaps, err := repo.Snapshots(ctx)
	if err != nil {
		return PrunePlan{}, err
	}
	return PlanRepositoryPrune(b, objs, snaps, now, abortBefore), nil
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
	keep, drop := retention.Select(items, b.Retain, now, location(b))
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

// PlanRepositoryPrune applies b.Retain to the snapshots a target keeps in
// its own repository (Elasticsearch): SUCCESS snapshots by the policy; the
// ones that did not succeed, and started before abortBefore, all go. Each
// dropped snapshot takes its manifest and descriptor with it, and so does a
// manifest whose snapshot is gone.
func PlanRepositoryPrune(b *config.Backup, objs []store.Object, snaps []plugin.RepoSnapshot, now, abortBefore time.Time) PrunePlan {
	entries, orphans := Catalog(b.Name, objs)
	var items []retention.Item
	byName := map[string]plugin.RepoSnapshot{}
	var p PrunePlan
	for _, s := range snaps {
		byName[s.Name] = s
		switch {
		case s.State == "SUCCESS":
			items = append(items, retention.Item{ID: s.Name, Time: s.Time})
		case s.Time.Before(abortBefore):
			p.Snapshots = append(p.Snapshots, s)
		}
	}
	_, drop := retention.Select(items, b.Retain, now, location(b))
	gone := map[string]bool{}
	for _, it := range drop {
		p.Snapshots = append(p.Snapshots, byName[it.ID])
	}
	for _, s := range p.Snapshots {
		gone[s.ID] = true
	}
	live := map[string]bool{}
	for _, s := range snaps {
		live[s.ID] = !gone[s.ID]
	}
	for _, e := range entries {
		if live[e.ID] {
			p.Keep = append(p.Keep, e)
		} else {
			p.Drop = append(p.Drop, e)
		}
	}
	for _, o := range orphans {
		if now.Sub(o.Modified) > OrphanAge(b) {
			p.Orphans = append(p.Orphans, o)
		}
	}
	return p
}

func location(b *config.Backup) *time.Location {
	if b.TimeZone != "" {
		if l, err := time.LoadLocation(b.TimeZone); err == nil {
			return l
		}
	}
	return time.UTC
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
//
// repo is the target when it keeps snapshots in its own repository
// (Elasticsearch), else nil. Its snapshots are deleted before their
// manifests, so a manifest never names a snapshot vigil deleted.
func Prune(ctx context.Context, s store.Store, b *config.Backup, now, abortBefore time.Time, repo plugin.Repository) (*record.Retention, error) {
	plan, err := MakePrunePlan(ctx, s, b, now, abortBefore, repo)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	res := &record.Retention{Kept: len(plan.Keep)}
	var errs []error
	failed := map[string]bool{}
	for _, snap := range plan.Snapshots {
		if err := repo.DeleteSnapshot(ctx, snap.Name); err != nil {
			errs = append(errs, err)
			failed[snap.ID] = true
			continue
		}
		res.Deleted = append(res.Deleted, snap.Name)
	}
	for _, e := range plan.Drop {
		if failed[e.ID] {
			continue // keep the manifest of a snapshot that still exists
		}
		if err := s.Delete(ctx, e.ManifestKey); err != nil {
			errs = append(errs, err)
			continue
		}
		if repo == nil {
			res.Deleted = append(res.Deleted, e.ID)
		}
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
