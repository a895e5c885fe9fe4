package tasks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/store/local"
)

// TestRetentionNeverDeletesWhatItCannotRead: a manifest of a newer format,
// one with a stray byte, one over 1 MiB and a good manifest copied under
// another ID are quarantined: kept with their data by retention (even
// long past the orphan age, under a policy that keeps one backup), listed
// with why, and deleted only by PruneUnreadable.
func TestRetentionNeverDeletesWhatItCannotRead(t *testing.T) {
	ctx := context.Background()
	s, _ := local.New(t.TempDir())
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	good := putTestBackup(t, s, "db", manifest.NewID(t0.Add(10*time.Hour)), "good")
	var ids []string
	edit := func(h time.Duration, change func([]byte) []byte) {
		m := putTestBackup(t, s, "db", manifest.NewID(t0.Add(h)), "data")
		b, _ := m.Encode()
		key := "db/" + m.ID + manifest.Suffix
		nb := change(b)
		if err := s.Put(ctx, key, strings.NewReader(string(nb)), int64(len(nb))); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	edit(time.Hour, func(b []byte) []byte { return []byte(strings.Replace(string(b), `"format": 1`, `"format": 2`, 1)) })
	edit(2*time.Hour, func(b []byte) []byte { return append([]byte{'x'}, b...) })
	edit(3*time.Hour, func(b []byte) []byte {
		return []byte(strings.Replace(string(b), `"vigil_version": "`, `"vigil_version": "`+strings.Repeat("v", 1<<20), 1))
	})
	// A good manifest copied under another ID: it names its own.
	copied := manifest.NewID(t0.Add(4 * time.Hour))
	gb, _ := good.Encode()
	if err := s.Put(ctx, "db/"+copied+manifest.Suffix, strings.NewReader(string(gb)), int64(len(gb))); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, copied)

	b := &config.Backup{Name: "db", Timeout: time.Hour, Retain: config.Retain{Last: 1}}
	later := t0.Add(30 * 24 * time.Hour)
	ret, err := Prune(ctx, s, b, nil, later, later, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ret.Deleted) != 0 || len(ret.Quarantined) != 4 {
		t.Fatalf("retention deleted %v, quarantined %v; want nothing deleted, 4 quarantined", ret.Deleted, ret.Quarantined)
	}
	cat, err := ReadCatalog(ctx, s, nil, "db")
	if err != nil {
		t.Fatal(err)
	}
	q := cat.Quarantined()
	if len(q) != 4 || len(cat.Good) != 1 {
		t.Fatalf("after retention: %d good, quarantined %+v", len(cat.Good), q)
	}
	for _, e := range q {
		if !strings.HasPrefix(e.Problem, UnreadablePrefix) && !strings.Contains(e.Problem, "names backup") {
			t.Errorf("%s: reason %q", e.ID, e.Problem)
		}
	}
	if !strings.Contains(q[1].Problem, "over 1048576 bytes") || !strings.Contains(q[3].Problem, "format 2 is not supported") {
		t.Errorf("reasons: %q / %q", q[1].Problem, q[3].Problem)
	}
	// Only when asked.
	deleted, err := PruneUnreadable(ctx, s, b, nil, q)
	if err != nil || len(deleted) != 4 {
		t.Fatalf("prune -unreadable: %v %v", deleted, err)
	}
	cat, _ = ReadCatalog(ctx, s, nil, "db")
	if len(cat.Quarantined()) != 0 || len(cat.Good) != 1 || cat.Good[0].ID != good.ID {
		t.Fatalf("after prune -unreadable: %+v", cat)
	}
}
