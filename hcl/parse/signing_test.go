package parse

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// A signing block signs a storage's or a backup's manifests without
// encryption; beside encryption it is refused at its position.
func TestSigningBlock(t *testing.T) {
	src := `storage "local" "disk" {
  path = "/b"
  signing {
    vault_transit {
      key           = "vigil-manifests"
      type          = "ed25519"
      previous_keys = ["old-manifests"]
    }
  }
}
backup "consul_kv" "a" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
}
backup "consul_kv" "b" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  encryption {
    vault_transit {
      key = "vigil-backups"
    }
  }
}
`
	cfg, _, diags := LoadBytes("spec.hcl", []byte(src), Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	a, _ := cfg.Backup("a")
	if s := a.Signing; s == nil || s.Key != "vigil-manifests" || s.Type != "ed25519" || s.Mount != "transit" || len(s.PreviousKeys) != 1 {
		t.Fatalf("a inherits the storage's signing: %+v", a.Signing)
	}
	if k := a.Signing.Keys(); k.SignKey != "vigil-manifests" || k.Key != "" {
		t.Errorf("ed25519 keys: %+v", k)
	}
	b, _ := cfg.Backup("b")
	if b.Signing != nil || b.Encryption == nil {
		t.Errorf("an encrypted backup is signed by its encryption only: %+v %+v", b.Signing, b.Encryption)
	}
	needs := a.Signing.BackupNeeds()
	if len(needs) != 3 || needs[0].Path != "transit/sign/vigil-manifests" || needs[1].Path != "transit/verify/vigil-manifests" || needs[2].Path != "transit/verify/old-manifests" {
		t.Errorf("backup job's vault needs: %+v", needs)
	}
	// A drill only checks signatures.
	if d := a.Signing.DrillNeeds(); len(d) != 2 || d[0].Path != "transit/verify/vigil-manifests" || d[1].Path != "transit/verify/old-manifests" {
		t.Errorf("drill job's vault needs: %+v", d)
	}

	bad := `storage "local" "disk" {
  path = "/b"
  encryption {
    vault_transit {
      key = "k"
    }
  }
  signing {
    vault_transit {
      key = "s"
    }
  }
}
`
	_, _, diags = LoadBytes("spec.hcl", []byte(bad), Options{})
	var errs hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs = append(errs, d)
		}
	}
	if len(errs) != 1 || errs[0].Summary != "Signing beside encryption" || errs[0].Subject.Start.Line != 8 {
		t.Errorf("signing beside encryption: %s", errs.Error())
	}
	_, _, diags = LoadBytes("spec.hcl", []byte(strings.Replace(src, `"ed25519"`, `"rsa"`, 1)), Options{})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), `"hmac" or "ed25519"`) {
		t.Errorf("type rsa: %s", diags.Error())
	}
}
