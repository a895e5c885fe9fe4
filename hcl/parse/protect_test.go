package parse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func loadProtected(t *testing.T, src string) hcl.Diagnostics {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spec.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, diags := Load(dir, Options{})
	if cfg == nil {
		t.Fatalf("errors: %s", diags.Error())
	}
	return diags
}

// TestProtectionWarnings: retention that wants a locked backup gone early,
// and a Vault snapshot encrypted by the Vault it backs up, validate with a
// warning naming the backup; a spec without either has none.
func TestProtectionWarnings(t *testing.T) {
	const storages = `
vault {
  address = "https://vault.internal:8200"
}
storage "s3" "locked" {
  bucket = "b"
  credentials {
    environment = true
  }
  object_lock {
    mode   = "GOVERNANCE"
    retain = "30d"
  }
  encryption {
    vault_transit {
      key = "k"
    }
  }
}
`
	cases := map[string]struct{ backup, want string }{
		"max_age under the lock": {`backup "consul_kv" "a" {
  schedule = "0 * * * *"
  storage  = storage.s3.locked
  retain { max_age = "7d" }
}`, "Retention shorter than the object lock"},
		"last under the lock": {`backup "consul_kv" "a" {
  schedule = "0 * * * *"
  storage  = storage.s3.locked
  retain { last = 24 }
}`, "Retention shorter than the object lock"},
		"circular": {`backup "vault_raft" "a" {
  schedule = "0 * * * *"
  storage  = storage.s3.locked
  retain { last = 1000 }
}`, "Vault snapshot encrypted by the Vault it backs up"},
		"fine": {`backup "consul_kv" "a" {
  schedule = "0 * * * *"
  storage  = storage.s3.locked
  retain { daily = 60 }
}`, ""},
	}
	for name, c := range cases {
		diags := loadProtected(t, storages+c.backup)
		switch {
		case c.want == "" && len(diags) != 0:
			t.Errorf("%s: unexpected %s", name, diags.Error())
		case c.want != "" && (len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || !strings.Contains(diags[0].Summary, c.want) || diags[0].Subject == nil):
			t.Errorf("%s: want one warning %q, got %v", name, c.want, diags)
		}
	}
}
