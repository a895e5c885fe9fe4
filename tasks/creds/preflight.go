package creds

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// need is one capability a credential source needs on a Vault path, and
// what for.
type need struct {
	path, capability, why string
}

// leasePath is a path under which Vault's lease API acts on the leases of
// path's secrets: sys/leases/revoke/<path>/<lease suffix>.
func leasePath(op, p string) string { return "sys/leases/" + op + "/" + p + "/lease" }

// needs lists what a Vault source needs: reading (or, for PKI, writing)
// its path, and renewing and revoking its leases.
func needs(source, p string) []need {
	switch source {
	case config.CredVaultIdentitySTS:
		return []need{{p, "read", "to get the identity token S3's STS exchanges for keys"}}
	case config.CredVaultKV:
		return []need{{p, "read", "to read the keys stored there"}}
	case config.CredVaultAWS:
		n := []need{{p, "read", "to get the run's S3 keys"},
			{leasePath("revoke", p), "update", "to revoke the keys when the run ends"}}
		if strings.Contains(p, "/creds/") {
			n = append(n, need{leasePath("renew", p), "update", "to renew the keys while the run lasts"})
		}
		return n
	case config.CredVaultConsul:
		return []need{{p, "read", "to get the run's Consul token"},
			{leasePath("renew", p), "update", "to renew the token while the run lasts"},
			{leasePath("revoke", p), "update", "to revoke the token when the run ends"}}
	case config.CredVaultPKI:
		return []need{{p, "update", "to issue the run's client certificate"},
			{leasePath("revoke", p), "update", "to revoke the certificate when the run ends"}}
	}
	return nil
}

// preflight asks Vault which capabilities the run's token has on every
// path a source needs (sys/capabilities-self, which every token may call),
// so a missing rule fails the run at its start with the rule named, not
// halfway with a bare "permission denied" or, for a revoke, silently.
func preflight(ctx context.Context, v Vault, ns []need) error {
	if len(ns) == 0 {
		return nil
	}
	var paths []string
	for _, n := range ns {
		paths = append(paths, n.path)
	}
	s, err := v.WriteWithContext(ctx, "sys/capabilities-self", map[string]any{"paths": paths})
	if err != nil {
		return fmt.Errorf("vault: check the token's capabilities: %w", err)
	}
	for _, n := range ns {
		if !grants(s, n.path, n.capability) {
			return fmt.Errorf("vault: the token lacks %q on %s (%s); add it to the run's Vault policy (vigil setup prints it)", n.capability, policyPath(n.path), n.why)
		}
	}
	return nil
}

func grants(s *api.Secret, p, capability string) bool {
	if s == nil {
		return false
	}
	caps, _ := s.Data[p].([]any)
	for _, c := range caps {
		if c == capability || c == "root" {
			return true
		}
	}
	return false
}

// policyPath is the path as a policy names it: lease paths by their glob.
func policyPath(p string) string {
	if strings.HasPrefix(p, "sys/leases/") {
		return path.Dir(p) + "/*"
	}
	return p
}
