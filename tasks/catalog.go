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

// Entry is one manifest in the store and the objects of its ID.
type Entry struct {
	ID          string
	Time        time.Time
	ManifestKey string
	DataKeys    []string
	// Manifest is the parsed manifest; nil when it could not be parsed.
	Manifest *manifest.Manifest
	// Problem says why the entry is not a good backup; "" when it is.
	Problem string
	// Tampered: the manifest's signature does not hold. Such an entry is
	// never restored, and never deleted by retention either: it is
	// evidence, and deleting on its word would let an edit destroy data.
	Tampered bool
}

// Good reports whether the entry is a backup that can be restored.
func (e Entry) Good() bool { return e.Problem == "" }

// Catalog is a backup's folder sorted out: the good backups, the manifests
// that are not good backups, and the data objects without a manifest.
type Catalog struct {
	// Good are the restorable backups, newest first.
	Good []Entry
	// Broken are manifests that are not good backups (Problem says why),
	// newest first: never listed as backups, never restored, never counted
	// by retention.
	Broken []Entry
	// Orphans are data objects without a manifest: failed or running runs.
	Orphans []store.Object
}

// Judge decides whether a manifest in the store is a good backup, the one
// place that decides it: the manifest parses, its signature holds when the
// backup's manifests are signed (badSignature says why not; "" when it
// holds or none is asked), it names this backup and its own ID, and the
// data object it names is in the store with exactly the manifest's size.
// It returns "" for a good backup, or why it is not.
func Judge(backup, id string, m *manifest.Manifest, objects map[string]store.Object, badSignature string) string {
	switch {
	case m == nil:
		return "the manifest cannot be read"
	case badSignature != "":
		return TamperedPrefix + badSignature
	case m.Backup != backup || m.ID != id:
		return fmt.Sprintf("the manifest names backup %s/%s", m.Backup, m.ID)
	case m.Object == "":
		return "the manifest names no data object"
	}
	o, ok := objects[m.Object]
	if !ok {
		return fmt.Sprintf("its data object %s is missing", m.Object)
	}
	if o.Size != m.Size {
		return fmt.Sprintf("its data object %s has %d bytes, the manifest says %d", m.Object, o.Size, m.Size)
	}
	return ""
}

// TamperedPrefix starts the Problem of an entry whose signature fails.
const TamperedPrefix = "tampered: "

// MakeCatalog sorts a backup's listed objects with their parsed manifests
// (by manifest key; a missing entry means it did not parse) and the
// signature problems found (by manifest key). Keys outside "<backup>/" or
// not named like a backup are ignored, so nothing else is ever touched.
func MakeCatalog(backup string, objs []store.Object, manifests map[string]*manifest.Manifest, badSignatures map[string]string) Catalog {
	byID := map[string]*Entry{}
	objects := map[string]store.Object{}
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
		objects[o.Key] = o
		data = append(data, o)
	}
	var c Catalog
	for _, o := range data {
		id := entryKey.FindStringSubmatch(o.Key)[2]
		if e, ok := byID[id]; ok {
			e.DataKeys = append(e.DataKeys, o.Key)
		} else {
			c.Orphans = append(c.Orphans, o)
		}
	}
	for _, e := range byID {
		e.Manifest = manifests[e.ManifestKey]
		e.Problem = Judge(backup, e.ID, e.Manifest, objects, badSignatures[e.ManifestKey])
		e.Tampered = badSignatures[e.ManifestKey] != ""
		if e.Good() {
			c.Good = append(c.Good, *e)
		} else {
			c.Broken = append(c.Broken, *e)
		}
	}
	newestFirst := func(es []Entry) {
		sort.Slice(es, func(i, j int) bool { return es[i].ID > es[j].ID })
	}
	newestFirst(c.Good)
	newestFirst(c.Broken)
	return c
}

// ReadCatalog lists a backup's folder, reads its manifests and sorts it
// out (MakeCatalog). A manifest that does not parse makes a broken entry; a
// manifest that cannot be fetched is an error, so a passing fault never
// makes a good backup look broken.
//
// With sigs, every manifest's signature is checked (Judge).
func ReadCatalog(ctx context.Context, s store.Store, sigs Signatures, backup string) (Catalog, error) {
	objs, err := s.List(ctx, backup+"/")
	if err != nil {
		return Catalog{}, err
	}
	manifests := map[string]*manifest.Manifest{}
	bad := map[string]string{}
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, manifest.Suffix) {
			continue
		}
		m, err := ReadManifest(ctx, s, o.Key)
		var perr *manifestError
		switch {
		case errors.As(err, &perr):
			continue // broken: Judge says so
		case err != nil:
			return Catalog{}, err
		}
		manifests[o.Key] = m
		why, err := verifySignature(ctx, sigs, m)
		if err != nil {
			return Catalog{}, fmt.Errorf("tasks: check the signature of %s: %w", o.Key, err)
		}
		if why != "" {
			bad[o.Key] = why
		}
	}
	return MakeCatalog(backup, objs, manifests, bad), nil
}

// ListBackups lists the good backups of a backup, newest first.
func ListBackups(ctx context.Context, s store.Store, sigs Signatures, backup string) ([]Entry, error) {
	c, err := ReadCatalog(ctx, s, sigs, backup)
	return c.Good, err
}

// manifestError is a manifest that was read but does not parse.
type manifestError struct{ err error }

func (e *manifestError) Error() string { return e.err.Error() }
func (e *manifestError) Unwrap() error { return e.err }

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
		return nil, &manifestError{fmt.Errorf("tasks: %s: %w", key, err)}
	}
	return m, nil
}

// ErrNoBackup is returned when no backup matches.
var ErrNoBackup = errors.New("no such backup")

// FindBackup returns the manifest of a good backup: the one whose ID is id
// or starts with it, or the newest when id is "" or "latest". A prefix that
// fits more than one backup is an error naming them; a manifest that is not
// a good backup is never returned (-latest skips it, -id explains it).
func FindBackup(ctx context.Context, s store.Store, sigs Signatures, backup, id string) (*manifest.Manifest, error) {
	c, err := ReadCatalog(ctx, s, sigs, backup)
	if err != nil {
		return nil, err
	}
	if id == "" || id == "latest" {
		if len(c.Good) == 0 {
			return nil, fmt.Errorf("tasks: %s has no complete backup in %s%s: %w", backup, s, brokenNote(c.Broken), ErrNoBackup)
		}
		return c.Good[0].Manifest, nil
	}
	var match []Entry
	for _, e := range c.Good {
		if e.ID == id {
			return e.Manifest, nil
		}
		if strings.HasPrefix(e.ID, id) {
			match = append(match, e)
		}
	}
	switch len(match) {
	case 1:
		return match[0].Manifest, nil
	case 0:
		for _, e := range c.Broken {
			if strings.HasPrefix(e.ID, id) {
				return nil, fmt.Errorf("tasks: %s/%s is not a good backup: %s: %w", backup, e.ID, e.Problem, ErrNoBackup)
			}
		}
		return nil, fmt.Errorf("tasks: %s has no backup %s in %s: %w", backup, id, s, ErrNoBackup)
	}
	ids := make([]string, len(match))
	for i, e := range match {
		ids[i] = e.ID
	}
	return nil, fmt.Errorf("tasks: -id %s fits %d backups of %s: %s; give more of the ID", id, len(match), backup, strings.Join(ids, ", "))
}

func brokenNote(broken []Entry) string {
	if len(broken) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d manifests are not good backups; the newest, %s: %s)", len(broken), broken[0].ID, broken[0].Problem)
}
