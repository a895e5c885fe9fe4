package health

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/record"
)

// A partial run turns the check critical naming the storage without a
// copy; each storage shows its last copy and the age of its newest good
// one.
func TestPartialRunNamesTheStorage(t *testing.T) {
	b := backup()
	b.Storage = config.Storage{Kind: config.StorageS3, Name: "primary"}
	b.Copies = []config.Storage{{Kind: config.StorageGCS, Name: "offsite"}, {Kind: config.StorageAzure, Name: "dr"}}
	good := finished(record.Succeeded, noon.Add(-2*time.Hour))
	good.Copies = []record.Copy{{Storage: "primary", Good: true}, {Storage: "offsite", Good: true}, {Storage: "dr", Good: true}}
	last := finished(record.Partial, noon.Add(-time.Hour))
	last.Error = `the backup was written to s3 "primary", gcs "offsite", but not to azure "dr": connection refused`
	last.Copies = []record.Copy{{Storage: "primary", Good: true}, {Storage: "offsite", Good: true}, {Storage: "dr", Error: "azure: connection refused"}}
	s := Evaluate(b, Records{Last: last, History: []record.Run{*good, *last}}, noon, noon)
	if s.State != Critical || !strings.HasPrefix(s.Output, "partial ") || !strings.Contains(s.Output, `azure "dr"`) || s.Healthy {
		t.Errorf("partial: %+v", s)
	}
	if Condition(s) != CondPartial {
		t.Errorf("condition %s", Condition(s))
	}
	if len(s.Copies) != 3 {
		t.Fatalf("copies %+v", s.Copies)
	}
	for i, want := range []time.Time{*last.FinishedAt, *last.FinishedAt, *good.FinishedAt} {
		c := s.Copies[i]
		if c.NewestGood == nil || !c.NewestGood.Equal(want) {
			t.Errorf("copy %s: newest good %v, want %s", c.Storage, c.NewestGood, want)
		}
		if c.LastGood != (i < 2) {
			t.Errorf("copy %s: last good %v", c.Storage, c.LastGood)
		}
	}
	if s.Copies[2].Error != "azure: connection refused" {
		t.Errorf("dr: %+v", s.Copies[2])
	}
	// One storage: no copies are shown.
	if s := Evaluate(backup(), Records{Last: good}, noon, noon); s.Copies != nil {
		t.Errorf("copies of a backup with one storage: %+v", s.Copies)
	}
}
