package tasks

import (
	"testing"

	"github.com/vigil-backup/vigil/hcl/config"
)

// The Vault runs log in to follows the vault CLI's rule: VAULT_ADDR over
// the spec's vault { address }, which is used when the variable is unset.
func TestVaultClientAddressRule(t *testing.T) {
	spec := config.Vault{Address: "https://spec-vault:8200"}
	for _, c := range []struct{ env, want string }{
		{"https://env-vault:8200", "https://env-vault:8200"},
		{"", "https://spec-vault:8200"},
	} {
		t.Setenv("VAULT_ADDR", c.env)
		vc, err := VaultClient(spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := vc.Address(); got != c.want {
			t.Errorf("VAULT_ADDR=%q: the client reaches %s, want %s", c.env, got, c.want)
		}
	}
}
