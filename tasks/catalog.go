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
	"github.com/vigil-backup/vigil/tasks/record"
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
	// Quarantined: the manifest cannot be read as one of this backup's (it
	// does not parse: a newer format, a stray byte, over 1 MiB; its
	// signature fails; it names another backup or ID). vigil cannot know
	// what it describes, so it keeps it and its data: retention never
	// deletes it, only `vigil prune -unreadable` when asked.
	Quarantined bool
	// Overwritten is the current version of the data object when it is
	// not the version the manifest pins: someone wrote over the backup.
	// The backup still reads its own version; this is the evidence.
	Overwritten string
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
		return UnreadablePrefix + "the manifest cannot be read"
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

// TamperedPrefix starts the Problem of an entry whose signature fails;
// UnreadablePrefix that of a manifest that cannot be read.
const (
	TamperedPrefix   = "tampered: "
	UnreadablePrefix = "unreadable: "
)

// quarantined reports whether a manifest cannot be read as this backup's
// own: see Entry.Quarantined.
func quarantined(backup, id string, m *manifest.Manifest, tampered bool) bool {
	return m == nil || tampered || m.Backup != backup || m.ID != id
}

// Quarantined are the entries kept because they cannot be read, newest
// first.
func (c Catalog) Quarantined() []Entry {
	var out []Entry
	for _, e := range c.Broken {
		if e.Quarantined {
			out = append(out, e)
		}
	}
	return out
}

// MakeCatalog sorts a backup's listed objects with their parsed manifests
// (by manifest key; a missing entry means it did not parse, and unreadable
// may say why) and the signature problems found (by manifest key). Keys
// outside "<backup>/" or not named like a backup are ignored, so nothing
// else is ever touched.
func MakeCatalog(backup string, objs []store.Object, manifests map[string]*manifest.Manifest, badSignatures, unreadable map[string]string) Catalog {
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
		e.Quarantined = quarantined(backup, e.ID, e.Manifest, e.Tampered)
		if why := unreadable[e.ManifestKey]; e.Manifest == nil && why != "" {
			e.Problem = UnreadablePrefix + why
		}
		if e.Good() {
			c.Good = append(c.Good, *e)
		} else {
			c.Broken = append(c.Broken, *e)
		}
	}
	sortEntries(c.Good)
	sortEntries(c.Broken)
	return c
}

// sortEntries sorts entries newest first.
func sortEntries(es []Entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].ID > es[j].ID })
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
	bad, unreadable := map[string]string{}, map[string]string{}
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, manifest.Suffix) {
			continue
		}
		m, err := ReadManifest(ctx, s, o.Key)
		var perr *manifestError
		switch {
		case errors.As(err, &perr):
			unreadable[o.Key] = perr.err.Error() // quarantined: Judge says so
			continue
		case err != nil:
			return Catalog{}, err
		}
		manifests[o.Key] = m
		if err := pinnedSize(ctx, s, m, objs); err != nil {
			return Catalog{}, err
		}
		why, err := verifySignature(ctx, sigs, m)
		if err != nil {
			return Catalog{}, fmt.Errorf("tasks: check the signature of %s: %w", o.Key, err)
		}
		if why != "" {
			bad[o.Key] = why
		}
	}
	c := MakeCatalog(backup, objs, manifests, bad, unreadable)
	if err := markOverwritten(ctx, s, c.Good); err != nil {
		return Catalog{}, err
	}
	return c, nil
}

// pinnedSize makes the listing tell the size of the version a manifest
// pins, not of the current one, and drops the object from it when that
// version is gone: Judge then decides on the backup's own bytes.
func pinnedSize(ctx context.Context, s store.Store, m *manifest.Manifest, objs []store.Object) error {
	p, ok := s.(store.Pinner)
	if !ok || m.ObjectVersion == "" || m.Object == "" {
		return nil
	}
	size, err := p.Head(ctx, m.Object, m.ObjectVersion)
	for i := range objs {
		if objs[i].Key != m.Object {
			continue
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			objs[i].Key = "" // the pinned version is gone: Judge says missing
		case err != nil:
			return err
		default:
			objs[i].Size = size
		}
	}
	return nil
}

// markOverwritten notes the good backups whose data object has a newer
// version on top of the pinned one.
func markOverwritten(ctx context.Context, s store.Store, good []Entry) error {
	p, ok := s.(store.Pinner)
	if !ok {
		return nil
	}
	for i := range good {
		m := good[i].Manifest
		if m.ObjectVersion == "" {
			continue
		}
		cur, err := p.Version(ctx, m.Object)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if cur != m.ObjectVersion {
			good[i].Overwritten = cur
		}
	}
	return nil
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

// maxManifest is the largest manifest read: vigil's are a few kilobytes.
const maxManifest = 1 << 20

// ReadManifest fetches and checks a manifest.
func ReadManifest(ctx context.Context, s store.Store, key string) (*manifest.Manifest, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifest+1))
	if err != nil {
		return nil, fmt.Errorf("tasks: read %s: %w", key, err)
	}
	if len(b) > maxManifest {
		return nil, &manifestError{fmt.Errorf("tasks: %s is over %d bytes: not a manifest this vigil wrote", key, maxManifest)}
	}
	m, err := manifest.Parse(b)
	if err != nil {
		return nil, &manifestError{fmt.Errorf("tasks: %s: %w", key, err)}
	}
	return m, nil
}

// ErrNoBackup is returned when no backup matches.
var ErrNoBackup = errors.New("no such backup")

// ErrDrillFailed is returned when the chosen backup's own latest drill
// failed and the caller did not force it.
var ErrDrillFailed = errors.New("its drill failed")

// FindBackup returns the manifest of a good backup: the one whose ID is id
// or starts with it, or the newest when id is "" or "latest". A prefix that
// fits more than one backup is an error naming them; a manifest that is not
// a good backup is never returned (-latest skips it, -id explains it).
// Drills use it: they drill whatever is good, whatever an earlier drill said.
func FindBackup(ctx context.Context, s store.Store, sigs Signatures, backup, id string) (*manifest.Manifest, error) {
	c, err := ReadCatalog(ctx, s, sigs, backup)
	if err != nil {
		return nil, err
	}
	ch, err := Choose(c, nil, backup, id, true)
	if err != nil {
		return nil, fmt.Errorf("tasks: %s in %s: %w", backup, s, err)
	}
	return ch.Manifest, nil
}

// Choice is the backup a restore or drill chose, its drill verdict, and
// the newer manifests it passed over with why ("ID: reason").
type Choice struct {
	Entry
	Verdict    record.Verdict
	PassedOver []string
	// From is the storage the backup is read from.
	From string
}

// Choose picks a good backup of the catalog, the one place that decides
// which backup a restore or drill takes: with id, the backup whose ID is
// id or starts with it; with "" or "latest", the newest good backup whose
// own latest drill did not fail (verdicts, when given). A backup whose
// drill failed is taken by its ID only with force. What -latest passed
// over (not good, or its drill failed) is listed with why. Errors end
// with the next step: the newest backup that may be taken, by its ID.
func Choose(c Catalog, verdicts record.Verdicts, backup, id string, force bool) (Choice, error) {
	failed := func(e Entry) bool { return verdicts != nil && verdicts.Of(e.ID).State == record.DrillFail }
	var passed []string
	choose := func(e Entry) Choice {
		for _, b := range c.Broken {
			if b.ID > e.ID {
				passed = append(passed, b.ID+": "+b.Problem)
			}
		}
		sort.Sort(sort.Reverse(sort.StringSlice(passed)))
		return Choice{Entry: e, Verdict: verdicts.Of(e.ID), PassedOver: passed}
	}
	if id == "" || id == "latest" {
		for _, e := range c.Good {
			if !failed(e) {
				return choose(e), nil
			}
			passed = append(passed, e.ID+": "+verdicts.Of(e.ID).Line())
		}
		if len(c.Good) == 0 {
			return Choice{}, fmt.Errorf("no complete backup%s: %w", brokenNote(c.Broken), ErrNoBackup)
		}
		e := c.Good[0]
		return Choice{}, fmt.Errorf("every complete backup failed its drill; the newest, %s: %s; take it anyway with -id %s -force: %w",
			e.ID, verdicts.Of(e.ID).Reason, e.ID, ErrDrillFailed)
	}
	var match []Entry
	for _, e := range c.Good {
		if e.ID == id {
			match = []Entry{e}
			break
		}
		if strings.HasPrefix(e.ID, id) {
			match = append(match, e)
		}
	}
	switch len(match) {
	case 1:
		e := match[0]
		if failed(e) && !force {
			v := verdicts.Of(e.ID)
			return Choice{}, fmt.Errorf("backup %s failed its drill at %s: %s; take it anyway with -force%s: %w",
				e.ID, v.At.UTC().Format(time.RFC3339), v.Reason, c.newestTakeable(verdicts, e.ID), ErrDrillFailed)
		}
		return choose(e), nil
	case 0:
		for _, e := range c.Broken {
			if strings.HasPrefix(e.ID, id) {
				return Choice{}, fmt.Errorf("%s/%s is not a good backup: %s%s: %w", backup, e.ID, e.Problem, c.newestTakeable(verdicts, e.ID), ErrNoBackup)
			}
		}
		return Choice{}, fmt.Errorf("no backup %s%s: %w", id, c.newestTakeable(verdicts, ""), ErrNoBackup)
	}
	ids := make([]string, len(match))
	for i, e := range match {
		ids[i] = e.ID
	}
	return Choice{}, fmt.Errorf("-id %s fits %d backups of %s: %s; give more of the ID", id, len(match), backup, strings.Join(ids, ", "))
}

// newestTakeable is the next step after a refused ID: the newest good
// backup other than not whose drill did not fail, preferring a verified one.
func (c Catalog) newestTakeable(verdicts record.Verdicts, not string) string {
	var fallback string
	for _, e := range c.Good {
		if e.ID == not {
			continue
		}
		v := verdicts.Of(e.ID)
		if v.Good() {
			return fmt.Sprintf("; the newest verified backup is -id %s (vigil list)", e.ID)
		}
		if fallback == "" && v.State != record.DrillFail {
			fallback = fmt.Sprintf("; the newest good backup is -id %s, %s (vigil list)", e.ID, v.State)
		}
	}
	return fallback
}

func brokenNote(broken []Entry) string {
	if len(broken) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d manifests are not good backups; the newest, %s: %s)", len(broken), broken[0].ID, broken[0].Problem)
}
