package tasks

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/plugin/esfake"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store/local"
)

// esBackup runs an elasticsearch backup against esfake with a local store.
func esBackup(t *testing.T, fake *esfake.Server, retain config.Retain) (*Deps, *config.Backup) {
	t.Helper()
	b := &config.Backup{
		Type: config.TypeElasticsearch, Name: "logs", Schedule: "0 * * * *", Compression: "none", Retain: retain,
		Storage:       config.Storage{Kind: config.StorageLocal, Name: "d", Path: t.TempDir()},
		Lock:          config.Lock{Key: "vigil/locks/logs", TTL: 15 * time.Second},
		Timeout:       10 * time.Second,
		Elasticsearch: &config.ElasticsearchSource{URL: fake.URL, Repository: "backups", SnapshotPrefix: "vigil-logs", Indices: []string{"logs-*"}},
	}
	d := &Deps{Log: hclog.NewNullLogger(), Version: "test", Now: time.Now,
		Target: func(b *config.Backup, to string) (plugin.Target, error) {
			es, err := plugin.NewElasticsearch(b.Name, *b.Elasticsearch, to, nil)
			if err == nil {
				es.Poll = plugin.Backoff{First: 5 * time.Millisecond, Max: 20 * time.Millisecond}
			}
			return es, err
		}}
	return d, b
}

// TestESRetention: last = 2 over 5 runs deletes exactly the 3 oldest of
// vigil's snapshots, with their manifests, and no snapshot vigil did not
// create.
func TestESRetention(t *testing.T) {
	fake, err := esfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	fake.AddIndex("logs-a", 10, 1)
	fake.AddRepository("backups", "fs")
	old := time.Now().Add(-48 * time.Hour)
	fake.AddSnapshot("backups", "nightly-1", "SUCCESS", old)
	fake.AddSnapshot("backups", "vigil-logs-manual", "SUCCESS", old)
	fake.AddSnapshot("backups", "nightly-2", "FAILED", old)
	d, b := esBackup(t, fake, config.Retain{Last: 2})
	var names []string
	for i := 0; i < 5; i++ {
		run, err := Run(context.Background(), d, b, RunOptions{})
		if err != nil || run.Status != record.Succeeded {
			t.Fatalf("run %d: %+v %v", i, run, err)
		}
		names = append(names, run.Source["snapshot"])
		time.Sleep(2 * time.Millisecond) // distinct IDs
	}
	wantList := []string{names[3], names[4], "nightly-1", "nightly-2", "vigil-logs-manual"}
	sort.Strings(wantList)
	want := strings.Join(wantList, ",")
	if got := strings.Join(fake.Snapshots("backups"), ","); got != want {
		t.Fatalf("snapshots left:\n got %s\nwant %s", got, want)
	}
	s, _ := local.New(b.Storage.Path)
	entries, _ := ListBackups(context.Background(), s, nil, "logs")
	if len(entries) != 2 {
		t.Fatalf("%d manifests left, want 2", len(entries))
	}
}

func TestESFailedRunRecord(t *testing.T) {
	fake, _ := esfake.Start()
	defer fake.Close()
	fake.AddIndex("logs-a", 10, 2)
	fake.AddRepository("backups", "fs")
	fake.SetOutcome("PARTIAL", 1)
	d, b := esBackup(t, fake, config.Retain{})
	run, err := Run(context.Background(), d, b, RunOptions{})
	if err == nil || run.Status != record.Failed || !strings.Contains(run.Error, "ended PARTIAL: 1 of 2 shards failed: [logs-a][0]") {
		t.Fatalf("run %+v: %v", run, err)
	}
	s, _ := local.New(b.Storage.Path)
	if _, err := FindBackup(context.Background(), s, nil, "logs", ""); err == nil {
		t.Error("a PARTIAL snapshot got a manifest")
	}
}

// TestESRetentionCountsOnlyManifested: a SUCCESS snapshot whose run wrote
// no manifest (it failed after the snapshot) never takes a retention slot;
// with last = 1 the newest restorable snapshot stays, and the orphan goes
// once past the orphan age.
func TestESRetentionCountsOnlyManifested(t *testing.T) {
	fake, _ := esfake.Start()
	defer fake.Close()
	fake.AddIndex("logs-a", 10, 1)
	fake.AddRepository("backups", "fs")
	d, b := esBackup(t, fake, config.Retain{})
	var names []string
	for i := 0; i < 2; i++ {
		run, err := Run(context.Background(), d, b, RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, run.Source["snapshot"])
		time.Sleep(2 * time.Millisecond)
	}
	orphan := "vigil-logs-20991231t235959.999z"
	fake.AddSnapshotWithMetadata("backups", orphan, "SUCCESS", time.Now(), map[string]any{"vigil_backup": "logs", "vigil_id": "20991231T235959.999Z"})
	b.Retain = config.Retain{Last: 1}
	s, _ := local.New(b.Storage.Path)
	es, _ := d.TargetFor(b, "", nil)
	repo := es.(plugin.Repository)
	if _, err := Prune(context.Background(), s, b, nil, time.Now(), time.Now(), repo); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{names[1], orphan}, ",")
	if got := strings.Join(fake.Snapshots("backups"), ","); got != want {
		t.Fatalf("within the orphan age: snapshots left %s, want %s", got, want)
	}
	later := time.Now().Add(2 * time.Hour)
	if _, err := Prune(context.Background(), s, b, nil, later, later, repo); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fake.Snapshots("backups"), ","); got != names[1] {
		t.Fatalf("past the orphan age: snapshots left %s, want %s", got, names[1])
	}
	if good, _ := ListBackups(context.Background(), s, nil, "logs"); len(good) != 1 {
		t.Fatalf("%d good backups left, want 1", len(good))
	}
}
