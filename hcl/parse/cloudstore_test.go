package parse

import (
	"strings"
	"testing"

	"github.com/vigil-backup/vigil/hcl/config"
)

// A gcs and an azure storage: without a credentials block the SDK's own
// chain applies; with vault_kv_path the key comes from Vault.
func TestCloudStorages(t *testing.T) {
	cfg, _, diags := LoadBytes("spec.hcl", []byte(`
storage "gcs" "offsite" {
  bucket = "acme-backups"
  prefix = "platform"
}

storage "azure" "dr" {
  account   = "acmebackups"
  container = "platform"
  endpoint  = "http://127.0.0.1:10000/acmebackups"
  credentials {
    vault_kv_path = "secret/vigil/azure"
  }
}

backup "etcd" "a" {
  schedule = "0 * * * *"
  storage  = storage.gcs.offsite
  etcd { endpoints = ["http://127.0.0.1:2379"] }
}

backup "etcd" "b" {
  schedule = "0 * * * *"
  storage  = storage.azure.dr
  etcd { endpoints = ["http://127.0.0.1:2379"] }
}
`), Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	g, a := cfg.Backups[0].Storage, cfg.Backups[1].Storage
	if g.Kind != config.StorageGCS || g.Bucket != "acme-backups" || g.Prefix != "platform/" || g.Credentials.Source != config.CredEnvironment {
		t.Errorf("gcs: %+v", g)
	}
	if a.Kind != config.StorageAzure || a.Account != "acmebackups" || a.Container != "platform" || a.Endpoint == "" ||
		a.Credentials.Source != config.CredVaultKV || a.Credentials.VaultPath != "secret/data/vigil/azure" {
		t.Errorf("azure: %+v", a)
	}
}

// Each mistake in a gcs or azure storage is an error at its place.
func TestCloudStorageErrors(t *testing.T) {
	for _, c := range []struct {
		name, block, want string
		line              int
	}{
		{"bucket name", `storage "gcs" "g" {
  bucket = "Acme_Backups!"
}`, "is not a bucket name", 4},
		{"an S3 source", `storage "gcs" "g" {
  bucket = "acme"
  credentials {
    vault_aws_path = "aws/creds/x"
  }
}`, "vault_aws_path is for S3", 6},
		{"account name", `storage "azure" "a" {
  account   = "Acme-Backups"
  container = "c1c"
}`, "is not a storage account name", 4},
		{"container name", `storage "azure" "a" {
  account   = "acme"
  container = "Bad--name"
}`, "is not a container name", 4},
		{"endpoint", `storage "azure" "a" {
  account   = "acme"
  container = "backups"
  endpoint  = "127.0.0.1:10000"
}`, "is not an http:// or https:// URL", 7},
		{"unknown kind", `storage "b2" "x" {
}`, `use "s3", "gcs", "azure" or "local"`, 4},
	} {
		d := firstError(t, c.block)
		if !strings.Contains(d.Summary+": "+d.Detail, c.want) || d.Subject.Start.Line != c.line {
			t.Errorf("%s: want %q at line %d, got line %d: %s: %s", c.name, c.want, c.line, d.Subject.Start.Line, d.Summary, d.Detail)
		}
	}
}
