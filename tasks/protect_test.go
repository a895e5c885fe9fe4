package tasks

import (
	"context"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/manifest"
)

// callCounter is a Vault that counts the calls made to it.
type callCounter struct{ calls []string }

func (c *callCounter) ReadWithContext(_ context.Context, p string) (*vault.Secret, error) {
	c.calls = append(c.calls, "read "+p)
	return nil, nil
}

func (c *callCounter) WriteWithContext(_ context.Context, p string, _ map[string]any) (*vault.Secret, error) {
	c.calls = append(c.calls, "write "+p)
	return nil, nil
}

// A manifest that claims encryption is refused without calling Vault when
// the spec encrypts nothing, or names another Transit mount or key.
func TestManifestCannotChooseTheTransitKey(t *testing.T) {
	v := &callCounter{}
	d := &Deps{Vault: v}
	m := &manifest.Manifest{Backup: "kv", ID: "20261205T100000.000Z", Encryption: &manifest.Encryption{
		Algorithm: "x", Mount: "attacker", Key: "theirs", WrappedKey: "vault:v1:abc"}}
	_, err := d.unwrapKeyring(&config.Backup{Name: "kv"}, m)
	if err == nil || !strings.Contains(err.Error(), "the spec encrypts nothing") {
		t.Errorf("no encryption in the spec: %v", err)
	}
	_, err = d.unwrapKeyring(&config.Backup{Name: "kv", Encryption: &config.Encryption{Mount: "transit", Key: "vigil"}}, m)
	if err == nil || !strings.Contains(err.Error(), "the spec transit/vigil") {
		t.Errorf("another key: %v", err)
	}
	if len(v.calls) != 0 {
		t.Errorf("Vault was called: %v", v.calls)
	}
	m.Encryption.Mount, m.Encryption.Key = "transit", "vigil"
	if _, err := d.unwrapKeyring(&config.Backup{Name: "kv", Encryption: &config.Encryption{Mount: "transit", Key: "vigil"}}, m); err != nil {
		t.Errorf("the spec's own key: %v", err)
	}
}
