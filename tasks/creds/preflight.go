package creds

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// Preflight asks Vault which capabilities the run's token has on every
// path a source needs (sys/capabilities-self, which every token may call),
// so a missing rule fails the run at its start with the rule named, not
// halfway with a bare "permission denied", or silently for a revoke.
func Preflight(ctx context.Context, v Vault, ns []config.VaultNeed) error {
	if len(ns) == 0 {
		return nil
	}
	var paths []string
	for _, n := range ns {
		paths = append(paths, probePath(n.Path))
	}
	s, err := v.WriteWithContext(ctx, "sys/capabilities-self", map[string]any{"paths": paths})
	if err != nil {
		return fmt.Errorf("vault: check the token's capabilities: %w", err)
	}
	for i, n := range ns {
		if !grants(s, paths[i], n.Capability) {
			return fmt.Errorf("vault: the token lacks %q on %s (%s); add it to the run's Vault policy (vigil setup prints it)", n.Capability, n.Path, n.Why)
		}
	}
	return nil
}

// probePath turns a policy glob into a path it matches.
func probePath(p string) string {
	if strings.HasSuffix(p, "/*") {
		return strings.TrimSuffix(p, "*") + "probe"
	}
	return p
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
