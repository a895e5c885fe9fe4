package policy

import (
	"context"
	"fmt"
	"strings"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/jobs"
)

// What a Retired object is.
const (
	RetiredVaultRole     = "vault role"
	RetiredVaultPolicy   = "vault policy"
	RetiredConsulBinding = "consul binding rules"
	RetiredConsulRole    = "consul role"
	RetiredConsulPolicy  = "consul policy"
)

// Retired is an object an older vigil setup wrote for the configuration
// as a whole, which setup -apply deletes where it exists: left in place,
// the old JWT role and binding rules would keep giving every job (and a
// job named like one in another namespace) the whole configuration's
// rights beside its own.
type Retired struct {
	System string `json:"system"`
	Kind   string `json:"kind"`
	// Name is a policy's or role's name, or a Vault path.
	Name string `json:"name"`
	Why  string `json:"why"`
}

// retired lists the configuration-wide objects of vigil before per-job
// identities: the JWT role (one, or one per namespace), its policy, and
// on the control Consul the role, its policy and the binding rules that
// bind to it.
func retired(s *Setup, cfg *config.Config, o Options) {
	old := Name(cfg)
	why := "the whole configuration's identity, from before each job had its own"
	roles := []string{old}
	for ns := range jobs.IDsByNamespace(cfg) {
		roles = append(roles, old+"-"+ns)
	}
	for _, r := range roles {
		s.Retired = append(s.Retired, Retired{SystemVault, RetiredVaultRole, "auth/" + o.VaultJWTMount + "/role/" + r, why})
	}
	s.Retired = append(s.Retired, Retired{SystemVault, RetiredVaultPolicy, old, why})
	if cfg.Consul.Enabled {
		s.Retired = append(s.Retired,
			Retired{SystemConsul, RetiredConsulBinding, o.ConsulAuthMethod + " to " + old, why},
			Retired{SystemConsul, RetiredConsulRole, old, why},
			Retired{SystemConsul, RetiredConsulPolicy, old, why})
	}
}

// applyRetired deletes one retired object if it exists; an absent one is
// not reported.
func applyRetired(ctx context.Context, r Retired, c Clients, report func(Change)) error {
	object := r.Kind + " " + r.Name
	gone := func(err error) error { return done(report, Change{r.System, object, "deleted"}, err) }
	switch r.System {
	case SystemVault:
		if c.Vault == nil {
			return nil
		}
		if r.Kind == RetiredVaultPolicy {
			cur, err := c.Vault.Sys().GetPolicyWithContext(ctx, r.Name)
			if err != nil || cur == "" {
				return err
			}
			return gone(c.Vault.Sys().DeletePolicyWithContext(ctx, r.Name))
		}
		cur, err := c.Vault.Logical().ReadWithContext(ctx, r.Name)
		if err != nil && !strings.Contains(err.Error(), "404") {
			return fmt.Errorf("setup: vault: read %s: %w", r.Name, err)
		}
		if cur == nil {
			return nil
		}
		_, err = c.Vault.Logical().DeleteWithContext(ctx, r.Name)
		return gone(err)
	case SystemConsul:
		if c.Consul == nil {
			return nil
		}
		cc, err := c.Consul(Policy{Server: ControlServer})
		if err != nil {
			return err
		}
		return retireConsul(cc.ACL(), r, gone)
	}
	return nil
}

func retireConsul(acl *consul.ACL, r Retired, gone func(error) error) error {
	switch r.Kind {
	case RetiredConsulBinding:
		method, role, _ := strings.Cut(r.Name, " to ")
		rules, _, err := acl.BindingRuleList(method, nil)
		if err != nil {
			return nil // no auth method: nothing bound
		}
		for _, b := range rules {
			if b.BindName == role {
				if _, err := acl.BindingRuleDelete(b.ID, nil); err != nil {
					return gone(err)
				}
			}
		}
		return nil
	case RetiredConsulRole:
		cur, _, err := acl.RoleReadByName(r.Name, nil)
		if err != nil || cur == nil {
			return nil
		}
		_, err = acl.RoleDelete(cur.ID, nil)
		return gone(err)
	case RetiredConsulPolicy:
		cur, _, err := acl.PolicyReadByName(r.Name, nil)
		if err != nil || cur == nil {
			return nil
		}
		_, err = acl.PolicyDelete(cur.ID, nil)
		return gone(err)
	}
	return nil
}
