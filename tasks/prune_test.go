package tasks

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/store"
	"github.com/vigil-backup/vigil/tasks/store/local"
)

var now0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// randomHistory lists the objects of a backup folder after random good and
// failed runs, with their parsed manifests, and foreign keys mixed in:
// other backups, records, names that merely look like backups. Some
// manifests are broken: their data object is gone, or shorter than they
// say.
func randomHistory(rng *rand.Rand) (objs []store.Object, manifests map[string]*manifest.Manifest, newestGood string) {
	manifests = map[string]*manifest.Manifest{}
	n := rng.Intn(40)
	for i := 0; i < n; i++ {
		ts := now0.Add(-time.Duration(rng.Int63n(int64(120 * 24 * time.Hour))))
		id := manifest.NewID(ts)
		data := store.Object{Key: "db/" + id + ".db.zst", Size: 100, Modified: ts}
		mkey := "db/" + id + manifest.Suffix
		m := &manifest.Manifest{ID: id, Backup: "db", Object: data.Key, Size: 100}
		switch rng.Intn(6) {
		case 0: // failed run: data without manifest (an orphan)
			objs = append(objs, data)
		case 1: // broken: the manifest's data object is gone
			objs = append(objs, store.Object{Key: mkey, Modified: ts})
			manifests[mkey] = m
		case 2: // broken: the data object is shorter than the manifest says
			data.Size = 99
			objs = append(objs, data, store.Object{Key: mkey, Modified: ts})
			manifests[mkey] = m
		default:
			objs = append(objs, data, store.Object{Key: mkey, Modified: ts})
			manifests[mkey] = m
			if id > newestGood {
				newestGood = id
			}
		}
	}
	for _, k := range []string{"dbx/" + manifest.NewID(now0) + ".db", "other/" + manifest.NewID(now0) + manifest.Suffix,
		"db/runs/last.json", "db/runs/history/x.json", "db/README", "db/" + manifest.NewID(now0) + "/nested.db", "db.manifest.json"} {
		if rng.Intn(2) == 0 {
			objs = append(objs, store.Object{Key: k, Modified: now0.Add(-1000 * time.Hour)})
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, manifests, newestGood
}

// TestPrunePlanProperties runs 10,000 random histories under random
// policies: the newest good backup is never dropped, a broken manifest is
// never kept as a backup, and nothing outside the backup's own backup
// objects is ever planned for deletion.
func TestPrunePlanProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for iter := 0; iter < 10000; iter++ {
		objs, manifests, newest := randomHistory(rng)
		b := &config.Backup{Name: "db", Timeout: time.Hour, Retain: config.Retain{
			Last: rng.Intn(4), Daily: rng.Intn(4), Weekly: rng.Intn(3), Monthly: rng.Intn(3),
		}}
		if rng.Intn(3) == 0 {
			b.Retain.MaxAge = time.Duration(rng.Int63n(int64(30 * 24 * time.Hour)))
		}
		plan := PlanPrune(b, MakeCatalog("db", objs, manifests, nil, nil), now0)
		var deleted []string
		for _, e := range plan.Drop {
			if e.ID == newest {
				t.Fatalf("iter %d: the newest good backup %s is planned for deletion (%+v)", iter, newest, b.Retain)
			}
			deleted = append(deleted, e.ManifestKey)
			deleted = append(deleted, e.DataKeys...)
		}
		for _, e := range plan.Keep {
			if !e.Good() {
				t.Fatalf("iter %d: kept a broken manifest as a backup: %s (%s)", iter, e.ID, e.Problem)
			}
		}
		for _, o := range plan.Orphans {
			deleted = append(deleted, o.Key)
		}
		for _, k := range deleted {
			if !entryKey.MatchString(k) || !strings.HasPrefix(k, "db/") {
				t.Fatalf("iter %d: would delete %q, outside the backup's objects", iter, k)
			}
		}
		if newest != "" && len(plan.Keep) == 0 {
			t.Fatalf("iter %d: keeps nothing", iter)
		}
	}
}

// TestPruneDeletesManifestFirst checks Prune against a store and the
// effect: dropped backups disappear entirely, the rest stays.
func TestPruneDeletesManifestFirst(t *testing.T) {
	s, _ := local.New(t.TempDir())
	ctx := context.Background()
	var ids []string
	for i := 0; i < 6; i++ {
		id := manifest.NewID(now0.Add(-time.Duration(i) * time.Hour))
		ids = append(ids, id)
		putTestBackup(t, s, "db", id, "data")
	}
	s.Put(ctx, "other/"+ids[5]+manifest.Suffix, strings.NewReader("{}"), 2)
	b := &config.Backup{Name: "db", Timeout: time.Hour, Retain: config.Retain{Last: 2}}
	res, err := Prune(ctx, s, b, nil, now0, now0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kept != 2 || len(res.Deleted) != 4 {
		t.Fatalf("result %+v", res)
	}
	objs, _ := s.List(ctx, "")
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	want := fmt.Sprintf("db/%s%s,db/%s.db,db/%s%s,db/%s.db,other/%s%s", ids[1], manifest.Suffix, ids[1], ids[0], manifest.Suffix, ids[0], ids[5], manifest.Suffix)
	sort.Strings(keys)
	wantKeys := strings.Split(want, ",")
	sort.Strings(wantKeys)
	if strings.Join(keys, ",") != strings.Join(wantKeys, ",") {
		t.Fatalf("left %v\nwant %v", keys, wantKeys)
	}
}
