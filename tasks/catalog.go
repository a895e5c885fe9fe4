package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/store"
)

// Layout of a backup's folder in the store:
//
//	<backup>/<ID><ext>            the data object (ext: .snap, .json, .db, + .zst)
//	<backup>/<ID>.manifest.json   written last; the backup exists only with it
//	<backup>/runs/...             run records in standalone mode
var entryKey = regexp.MustCompile(`^([A-Za-z0-9_-]+)/(\d{8}T\d{6}\.\d{3}Z)(\.[a-z0-9.]+)$`)

// Entry is one backup in the store: a manifest and the objects of its ID.
type Entry struct {
	ID          string
	Time        time.Time
	ManifestKey string
	DataKeys    []string
}

// Catalog sorts a backup's objects into complete backups (newest first) and
// orphan data objects, which have no manifest. Keys outside "<backup>/" or
// not named like a backup are ignored, so nothing else is ever touched.
func Catalog(backup string, objs []store.Object) (entries []Entry, orphans []store.Object) {
	byID := map[string]*Entry{}
	var data []store.Object
	for _, o := range objs {
		m := entryKey.FindStringSubmatch(o.Key)
		if m == nil || m[1] != backup {
			continue
		}
		if m[3] == manifest.Suffix {
			t, err := manifest.IDTime(m[2])
			if err != nil {
				continue
			}
			byID[m[2]] = &Entry{ID: m[2], Time: t, ManifestKey: o.Key}
			continue
		}
		data = append(data, o)
	}
	for _, o := range data {
		id := entryKey.FindStringSubmatch(o.Key)[2]
		if e, ok := byID[id]; ok {
			e.DataKeys = append(e.DataKeys, o.Key)
		} else {
			orphans = append(orphans, o)
		}
	}
	for _, e := range byID {
		entries = append(entries, *e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].ID > entries[j].ID })
	return entries, orphans
}

// ListBackups lists the complete backups of a backup, newest first.
func ListBackups(ctx context.Context, s store.Store, backup string) ([]Entry, error) {
	objs, err := s.List(ctx, backup+"/")
	if err != nil {
		return nil, err
	}
	entries, _ := Catalog(backup, objs)
	return entries, nil
}

// ReadManifest fetches and checks a manifest.
func ReadManifest(ctx context.Context, s store.Store, key string) (*manifest.Manifest, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("tasks: read %s: %w", key, err)
	}
	m, err := manifest.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("tasks: %s: %w", key, err)
	}
	return m, nil
}

// ErrNoBackup is returned when no backup matches.
var ErrNoBackup = errors.New("no such backup")

// FindBackup returns the manifest of backup id, or of the newest backup
// when id is "" or "latest".
func FindBackup(ctx context.Context, s store.Store, backup, id string) (*manifest.Manifest, error) {
	entries, err := ListBackups(ctx, s, backup)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if id == "" || id == "latest" || e.ID == id || strings.HasPrefix(e.ID, id) {
			m, err := ReadManifest(ctx, s, e.ManifestKey)
			if err != nil {
				return nil, err
			}
			if m.Backup != backup || m.ID != e.ID {
				return nil, fmt.Errorf("tasks: %s names backup %s/%s, not %s/%s", e.ManifestKey, m.Backup, m.ID, backup, e.ID)
			}
			return m, nil
		}
	}
	if id == "" || id == "latest" {
		return nil, fmt.Errorf("tasks: %s has no complete backup in %s: %w", backup, s, ErrNoBackup)
	}
	return nil, fmt.Errorf("tasks: %s has no backup %s in %s: %w", backup, id, s, ErrNoBackup)
}
