package parse

import (
	"strings"
	"testing"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/jobs"
)

const copiesStorages = `
storage "s3" "primary" {
  bucket = "backups"
  credentials { environment = true }
  retain { last = 2 }
}

storage "gcs" "offsite" {
  bucket = "acme-offsite"
}

storage "local" "nas" {
  path = "/srv/backups"
}
`

// storage = [a, b] writes one stream to several storages, each with its
// own retain when it sets one.
func TestStorageList(t *testing.T) {
	cfg, _, diags := LoadBytes("spec.hcl", []byte(copiesStorages+`
backup "etcd" "a" {
  schedule = "0 * * * *"
  storage  = [storage.s3.primary, storage.gcs.offsite]
  retain { last = 7 }
  etcd { endpoints = ["http://127.0.0.1:2379"] }
}
`), Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	b := &cfg.Backups[0]
	if b.Storage.Name != "primary" || len(b.Copies) != 1 || b.Copies[0].Name != "offsite" {
		t.Fatalf("destinations %+v / %+v", b.Storage, b.Copies)
	}
	if b.At(0).Retain.Last != 2 || b.At(1).Retain.Last != 7 || len(b.At(1).Copies) != 0 || b.At(1).Storage.Name != "offsite" {
		t.Errorf("per-storage retain: %+v %+v", b.At(0).Retain, b.At(1).Retain)
	}
	if b.Storage.RefPos != "spec.hcl:18:15" || b.Copies[0].RefPos != "spec.hcl:18:35" {
		t.Errorf("reference positions %q %q", b.Storage.RefPos, b.Copies[0].RefPos)
	}
}

// Each mistake in a storage list is an error at the list element.
func TestStorageListErrors(t *testing.T) {
	for _, c := range []struct {
		name, storage, extra, want string
		col                        int
	}{
		{"unknown storage", `[storage.s3.primary, storage.gcs.elsewhere]`, "", `No storage "gcs" "elsewhere"`, 35},
		{"listed twice", `[storage.s3.primary, storage.s3.primary]`, "", "Storage listed twice", 35},
		{"empty", `[]`, "", "Empty storage list", 14},
		{"not a reference", `["primary", storage.gcs.offsite]`, "", "Invalid storage reference", 15},
		{"different encryption", `[storage.s3.primary, storage.gcs.sealed]`, `
storage "gcs" "sealed" {
  bucket = "acme-sealed"
  encryption {
    vault_transit { key = "vigil" }
  }
}`, "Storages with different encryption", 35},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, diags := LoadBytes("spec.hcl", []byte(copiesStorages+c.extra+`
backup "etcd" "a" {
  schedule = "0 * * * *"
  storage  = `+c.storage+`
  etcd { endpoints = ["http://127.0.0.1:2379"] }
}
`), Options{})
			if !diags.HasErrors() || !strings.Contains(diags.Error(), c.want) {
				t.Fatalf("want %q, got %v", c.want, diags)
			}
			line := 18 + strings.Count(c.extra, "\n")
			for _, d := range diags {
				if d.Subject != nil && strings.Contains(d.Summary+d.Detail, c.want) {
					if d.Subject.Start.Line != line || d.Subject.Start.Column != c.col {
						t.Errorf("at %d:%d, want %d:%d", d.Subject.Start.Line, d.Subject.Start.Column, line, c.col)
					}
					return
				}
			}
			t.Errorf("no diagnostic with a place: %v", diags)
		})
	}
}

// An elasticsearch backup has one storage: Elasticsearch writes the data.
func TestElasticsearchHasOneStorage(t *testing.T) {
	_, _, diags := LoadBytes("spec.hcl", []byte(copiesStorages+`
backup "elasticsearch" "logs" {
  schedule = "0 * * * *"
  storage  = [storage.s3.primary, storage.gcs.offsite]
  elasticsearch {
    url        = "http://127.0.0.1:9200"
    repository = "backups"
  }
}
`), Options{})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "One storage for an elasticsearch backup") {
		t.Fatalf("diags %v", diags)
	}
}

// A local storage in a list under the exec driver without its host
// volume fails where the spec names it, when the job is compiled.
func TestLocalStorageInAListNeedsItsHostVolume(t *testing.T) {
	cfg, _, diags := LoadBytes("spec.hcl", []byte(copiesStorages+`
backup "etcd" "a" {
  schedule = "0 * * * *"
  storage  = [storage.s3.primary, storage.local.nas]
  etcd { endpoints = ["http://127.0.0.1:2379"] }
  nomad { driver = "exec" }
}
`), Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	_, err := jobs.Compile(cfg, jobs.Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "spec.hcl:18:35: ") || !strings.Contains(err.Error(), "host_volume") {
		t.Fatalf("compile: %v", err)
	}
	if cfg.Backups[0].Copies[0].Kind != config.StorageLocal {
		t.Fatal("the local storage is not a copy")
	}
}
