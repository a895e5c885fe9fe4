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
	Keep []Entry
	// Drop are good backups the policy lets go, and broken manifests past
	// the orphan age; each goes with its data objects.
	Drop    []Entry
	Orphans []store.Object
	// Quarantined are the IDs of manifests kept because they cannot be
	// read (Entry.Quarantined).
	Quarantined []string
	// Snapshots are repository snapshots to delete (Elasticsearch).
	Snapshots []plugin.RepoSnapshot
}

// OrphanAge is how old a data object without a manifest must be before
// retention removes it: older than any run can take, so it is never the
// upload of a run still going.
func OrphanAge(b *config.Backup) time.Duration {
	return max(2*b.Timeout, time.Hour)
}

// MakePrunePlan reads the catalog (and the repository, if any) and plans.
func MakePrunePlan(ctx context.Context, s store.Store, b *config.Backup, sigs Signatures, now, abortBefore time.Time, repo plugin.Repository) (PrunePlan, error) {
	cat, err := ReadCatalog(ctx, s, sigs, b.Name)
	if err != nil {
		return PrunePlan{}, err
	}
	var p PrunePlan
	if repo == nil {
		p = PlanPrune(b, cat, now)
	} else {
		snaps, err := repo.Snapshots(ctx)
		if err != nil {
			return PrunePlan{}, err
		}
		p = PlanRepositoryPrune(b, cat, snaps, now, abortBefore)
	}
	for _, e := range cat.Quarantined() {
		p.Quarantined = append(p.Quarantined, e.ID)
	}
	return p, nil
}

// MayDelete decides whether retention may delete what is not a kept good
// backup, the one place that decides it: a data object without a manifest,
// a broken manifest, or a repository snapshot without a good manifest may
// go once it is older than the orphan age, so it is never the work of a run
// still going.
func MayDelete(b *config.Backup, modified, now time.Time) bool {
	return now.Sub(modified) > OrphanAge(b)
}

// MayDeleteEntry decides it for a manifest that is not a kept good backup:
// never when it is quarantined (it cannot be read, so nothing is known of
// what it describes: a newer vigil's format, an edit, another backup's
// copy), else past the orphan age.
func MayDeleteEntry(b *config.Backup, e Entry, now time.Time) bool {
	return !e.Quarantined && MayDelete(b, e.Time, now)
}

// Locked decides whether an object lock still holds a backup the policy
// lets go, the one place that decides it: its manifest records the date
// every object of the run is locked until. A locked backup is due, not
// deleted; retention tries again on a later run.
func Locked(e Entry, now time.Time) bool {
	return e.Manifest != nil && e.Manifest.RetainUntil != nil && now.Before(*e.Manifest.RetainUntil)
}

// PlanPrune applies b.Retain to the backup's good backups. Broken manifests
// and orphan data objects past the orphan age go too.
func PlanPrune(b *config.Backup, cat Catalog, now time.Time) PrunePlan {
	var p PrunePlan
	p.Keep, p.Drop = selectRetained(b, cat.Good, now)
	p.Drop = append(p.Drop, oldBroken(b, cat.Broken, now)...)
	p.Orphans = oldOrphans(b, cat.Orphans, now)
	return p
}

// selectRetained splits good backups by the policy.
func selectRetained(b *config.Backup, good []Entry, now time.Time) (keep, drop []Entry) {
	items := make([]retention.Item, len(good))
	byID := map[string]Entry{}
	for i, e := range good {
		items[i] = retention.Item{ID: e.ID, Time: e.Time}
		byID[e.ID] = e
	}
	k, d := retention.Select(items, b.Retain, now, location(b))
	for _, it := range k {
		keep = append(keep, byID[it.ID])
	}
	for _, it := range d {
		drop = append(drop, byID[it.ID])
	}
	return keep, drop
}

func oldBroken(b *config.Backup, broken []Entry, now time.Time) []Entry {
	var out []Entry
	for _, e := range broken {
		if MayDeleteEntry(b, e, now) {
			out = append(out, e)
		}
	}
	return out
}

func oldOrphans(b *config.Backup, orphans []store.Object, now time.Time) []store.Object {
	var out []store.Object
	for _, o := range orphans {
		if MayDelete(b, o.Modified, now) {
			out = append(out, o)
		}
	}
	return out
}

// PlanRepositoryPrune applies b.Retain to the snapshots a target keeps in
// its own repository (Elasticsearch). Only a SUCCESS snapshot with a good
// manifest is a backup and takes a retention slot. A SUCCESS snapshot
// without one (its run failed after the snapshot) is an orphan, deleted
// past the orphan age; a snapshot that did not succeed goes once it
// started before abortBefore. Each dropped snapshot takes its manifest and
// descriptor with it, and so does a manifest whose snapshot is gone.
func PlanRepositoryPrune(b *config.Backup, cat Catalog, snaps []plugin.RepoSnapshot, now, abortBefore time.Time) PrunePlan {
	var p PrunePlan
	byID := map[string]plugin.RepoSnapshot{}
	for _, s := range snaps {
		byID[s.ID] = s
	}
	var backups []Entry
	hasManifest := map[string]bool{}
	for _, e := range cat.Good {
		if s, ok := byID[e.ID]; ok && s.State == "SUCCESS" {
			backups = append(backups, e)
			hasManifest[e.ID] = true
		} else {
			e.Problem = "its snapshot is gone from the repository or did not succeed"
			cat.Broken = append(cat.Broken, e)
		}
	}
	var drop []Entry
	p.Keep, drop = selectRetained(b, backups, now)
	for _, e := range drop {
		p.Snapshots = append(p.Snapshots, byID[e.ID])
	}
	p.Drop = drop
	for _, s := range snaps {
		switch {
		case hasManifest[s.ID]:
		case s.State == "SUCCESS" && MayDelete(b, s.Time, now):
			p.Snapshots = append(p.Snapshots, s) // orphan: its run wrote no manifest
		case s.State != "SUCCESS" && s.Time.Before(abortBefore):
			p.Snapshots = append(p.Snapshots, s)
		}
	}
	// A manifest whose snapshot is gone names nothing restorable: it goes
	// at once; a broken one whose snapshot is still there waits like any.
	for _, e := range cat.Broken {
		if _, live := byID[e.ID]; !e.Quarantined && (!live || MayDeleteEntry(b, e, now)) {
			p.Drop = append(p.Drop, e)
		}
	}
	p.Orphans = oldOrphans(b, cat.Orphans, now)
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
func Prune(ctx context.Context, s store.Store, b *config.Backup, sigs Signatures, now, abortBefore time.Time, repo plugin.Repository) (*record.Retention, error) {
	plan, err := MakePrunePlan(ctx, s, b, sigs, now, abortBefore, repo)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	res := &record.Retention{Kept: len(plan.Keep), Quarantined: plan.Quarantined}
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
	// A delete the store refuses for a lock (one whose date the run could
	// not know, such as an orphan's) is due, not a failure.
	del := func(key, id string) bool {
		err := s.Delete(ctx, key)
		switch {
		case errors.Is(err, store.ErrLocked):
			res.Due = appendOnce(res.Due, id)
			return false
		case err != nil:
			errs = append(errs, err)
			return false
		}
		return true
	}
	for _, e := range plan.Drop {
		if failed[e.ID] {
			continue // keep the manifest of a snapshot that still exists
		}
		if Locked(e, now) {
			res.Due = appendOnce(res.Due, e.ID)
			continue
		}
		if !del(e.ManifestKey, e.ID) {
			continue
		}
		if repo == nil {
			res.Deleted = append(res.Deleted, e.ID)
		}
		for _, k := range e.DataKeys {
			del(k, e.ID)
		}
	}
	for _, o := range plan.Orphans {
		del(o.Key, o.Key)
	}
	if j, ok := s.(store.Janitor); ok {
		if err := j.AbortUploads(ctx, b.Name+"/", abortBefore); err != nil {
			errs = append(errs, err)
		}
	}
	if tc, ok := s.(store.TempCleaner); ok {
		// Another command (a drill's record) may be writing without the
		// lock: only temp files past the orphan age are surely dead.
		if err := tc.RemoveTemp(ctx, b.Name+"/", now.Add(-OrphanAge(b))); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		res.Error = err.Error()
		return res, fmt.Errorf("retention: %w", err)
	}
	return res, nil
}

func appendOnce(xs []string, x string) []string {
	for _, v := range xs {
		if v == x {
			return xs
		}
	}
	return append(xs, x)
}

// PruneUnreadable deletes the quarantined manifests of a backup (and the
// data objects of their IDs) that a person listed and approved: the only
// way they ever go. It deletes only what the catalog still quarantines
// now, so an entry that became readable in between is left alone.
func PruneUnreadable(ctx context.Context, s store.Store, b *config.Backup, sigs Signatures, approved []Entry) ([]string, error) {
	cat, err := ReadCatalog(ctx, s, sigs, b.Name)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	still := map[string]Entry{}
	for _, e := range cat.Quarantined() {
		still[e.ManifestKey] = e
	}
	var deleted []string
	var errs []error
	for _, a := range approved {
		e, ok := still[a.ManifestKey]
		if !ok {
			continue
		}
		if err := s.Delete(ctx, e.ManifestKey); err != nil {
			errs = append(errs, err)
			continue
		}
		for _, k := range e.DataKeys {
			if err := s.Delete(ctx, k); err != nil {
				errs = append(errs, err)
			}
		}
		deleted = append(deleted, e.ID)
	}
	if err := errors.Join(errs...); err != nil {
		return deleted, fmt.Errorf("retention: delete unreadable manifests: %w", err)
	}
	return deleted, nil
}
