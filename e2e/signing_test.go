//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/manifest"
)

// TestSigningWithoutEncryption: a backup stored in the clear with
// signing { vault_transit { type = "ed25519" } } has an ed25519 signature
// on its manifest from the real Transit, under the rules vigil setup
// wrote; an edited manifest is listed as TAMPERED and refused by restore;
// the original restores. A manifest that claims encryption in a spec
// without it is refused without asking Vault for that key.
func TestSigningWithoutEncryption(t *testing.T) {
	needStack(t)
	if stack.Sec == nil {
		t.Skip("the open lab has no Transit")
	}
	ctx := testContext(t, 4*time.Minute)
	cc, _ := stack.Consul.Client()
	cc.KV().Put(kvPair("signed/a", "1"), nil)
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "consul_kv" "signed" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %[1]s
  signing {
    vault_transit {
      key  = %[2]q
      type = "ed25519"
    }
  }
}`, consulSource(t, stack.Consul.URL(), "signed/"), harness.TransitSignKey))
	if r := vigil(t, "", "run", "-config", dir, "-backup", "signed"); r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	m, _ := latestManifest(t, ctx, prefix, "signed")
	if m.Encryption != nil || m.Signature == nil || m.Signature.Type != "transit-ed25519" || m.Signature.Key != harness.TransitSignKey {
		t.Fatalf("the manifest is not signed alone: %+v", m.Signature)
	}
	key := prefix + "signed/" + m.ID + manifest.Suffix
	raw := getObject(t, ctx, key)
	edit := func(change func(*manifest.Manifest)) {
		var mm manifest.Manifest
		json.Unmarshal(raw, &mm)
		change(&mm)
		b, _ := mm.Encode()
		putManifestBytes(t, ctx, key, b)
	}
	edit(func(mm *manifest.Manifest) { mm.Source = map[string]string{"index": "1"} })
	r := vigil(t, "", "list", "-config", dir, "-backup", "signed")
	if r.code != 0 || !strings.Contains(r.stdout, "TAMPERED") {
		t.Errorf("an edited signed manifest is not TAMPERED in list: %s", r)
	}
	fresh := freshConsul(t, ctx, "signed-restore")
	if r := restoreAs(t, fresh, "restore", "-config", dir, "-backup", "signed", "-id", m.ID, "-to", fresh.URL()); r.code != 1 || !strings.Contains(r.stderr, "tampered") {
		t.Errorf("restore of the edited manifest: %s", r)
	}
	// A manifest that claims encryption (and re-signed by nobody): the
	// spec encrypts nothing, so it is not a backup either way.
	edit(func(mm *manifest.Manifest) {
		mm.Encryption = &manifest.Encryption{Algorithm: "x", SegmentSize: 1, Mount: "elsewhere", Key: "theirs",
			WrappedKey: "vault:v1:abc", PlainSHA256: strings.Repeat("0", 64)}
	})
	if r := restoreAs(t, fresh, "restore", "-config", dir, "-backup", "signed", "-id", m.ID, "-to", fresh.URL()); r.code != 1 || strings.Contains(r.stderr, "elsewhere/decrypt") {
		t.Errorf("restore of a manifest claiming encryption: %s", r)
	}
	putManifestBytes(t, ctx, key, raw)
	if r := restoreAs(t, fresh, "restore", "-config", dir, "-backup", "signed", "-to", fresh.URL()); r.code != 0 || !strings.Contains(r.stdout, "restored signed backup "+m.ID) {
		t.Fatalf("restore of the signed backup: %s", r)
	}
	if got := kvMap(t, fresh, "signed/"); got["signed/a"] == "" {
		t.Errorf("restored keys: %v", got)
	}
}
