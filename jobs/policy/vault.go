package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/jobs"
)

// vaultRun is the Vault policy of the configuration's runs: every path a
// credential source reads, with lease renewal and revocation where it
// leases (the same list each run checks before it starts), and the JWT
// role its jobs log in with, bound to their workload identities. The PKI
// roles certificates are issued under are written too.
func vaultRun(s *Setup, cfg *config.Config, o Options) {
	name := Name(cfg)
	p := Policy{System: SystemVault, Name: name}
	caps := map[string][]string{}
	// why[path][reason] lists the backups that need the path for reason.
	why := map[string]map[string][]string{}
	var order []string
	add := func(ns []config.VaultNeed, backup string) {
		for _, n := range ns {
			if _, ok := caps[n.Path]; !ok {
				order = append(order, n.Path)
				why[n.Path] = map[string][]string{}
			}
			if !contains(caps[n.Path], n.Capability) {
				caps[n.Path] = append(caps[n.Path], n.Capability)
			}
			why[n.Path][n.Why] = append(why[n.Path][n.Why], backup)
		}
	}
	for _, b := range cfg.Backups {
		add(b.Storage.Credentials.VaultNeeds(), b.Name)
		tc := b.TargetCreds()
		add(tc.VaultNeeds(), b.Name)
		add(b.Encryption.VaultNeeds(b.Verify != nil), b.Name)
		add(b.Signing.VaultNeeds(), b.Name)
		if b.VaultCluster != nil {
			if a := b.VaultCluster.Address; a == "" || a == cfg.Vault.Address {
				add([]config.VaultNeed{config.VaultRaftNeed}, b.Name)
			} else {
				s.Notes = append(s.Notes, fmt.Sprintf("backup %s reads the Vault at %s, not the one its runs log in to: the run's VAULT_TOKEN must be that cluster's, with read on %s", b.Name, a, config.VaultRaftNeed.Path))
			}
		}
		if tc != nil && tc.Source == config.CredVaultPKI {
			pkiRole(s, b.Name, tc)
		}
	}
	for _, path := range order {
		sort.Strings(caps[path])
		var reasons []string
		for reason, backups := range why[path] {
			reasons = append(reasons, fmt.Sprintf("%s (%s)", reason, strings.Join(uniq(backups), ", ")))
		}
		sort.Strings(reasons)
		p.Rules = append(p.Rules, Rule{
			Text: fmt.Sprintf("path %q {\n  capabilities = [%s]\n}", path, quoteJoin(caps[path])),
			Why:  strings.Join(reasons, "; "),
		})
	}
	if len(p.Rules) == 0 {
		return
	}
	s.Policies = append(s.Policies, p)
	// One role per namespace, each bound to its own namespace's job IDs:
	// Vault matches each bound claim on its own (jobs.VaultRole).
	ids := jobIDs(cfg)
	for _, ns := range sortedNamespaces(ids) {
		role := jobs.VaultRole(cfg, ns, name)
		s.VaultObjects = append(s.VaultObjects, VaultObject{
			Path: "auth/" + o.VaultJWTMount + "/role/" + role,
			Data: map[string]any{
				"role_type": "jwt", "bound_audiences": []string{o.VaultAudience},
				"user_claim": "/nomad_job_id", "user_claim_json_pointer": true,
				"bound_claims":   map[string]any{"nomad_namespace": []string{ns}, "nomad_job_id": ids[ns]},
				"claim_mappings": map[string]string{"nomad_namespace": "nomad_namespace", "nomad_job_id": "nomad_job_id", "nomad_task": "nomad_task"},
				"token_type":     "service", "token_policies": []string{name},
				// A periodic token lives as long as the run renews it.
				"token_period": "30m",
			},
			Why: fmt.Sprintf("the configuration's jobs in namespace %s log in with their workload identity and get policy %s", ns, name),
		})
	}
	for _, b := range cfg.Backups {
		if b.Nomad.VaultEnabled && b.Nomad.VaultRole != name {
			s.Notes = append(s.Notes, fmt.Sprintf("backup %s: its job logs in to Vault with role %q; set nomad { vault { role = %q } } to use the role vigil setup writes", b.Name, b.Nomad.VaultRole, name))
			break
		}
	}
}

// pkiRole is the PKI role a backup's client certificates come from: its
// common name only, client use only, leased so the run can revoke it.
func pkiRole(s *Setup, backup string, tc *config.TargetCredentials) {
	path := strings.Replace(tc.VaultPath, "/issue/", "/roles/", 1)
	for _, o := range s.VaultObjects {
		if o.Path == path {
			return
		}
	}
	s.VaultObjects = append(s.VaultObjects, VaultObject{
		Path: path,
		Data: map[string]any{
			"allowed_domains": []string{tc.CommonName}, "allow_bare_domains": true, "allow_subdomains": false,
			"allow_localhost": false, "allow_ip_sans": false, "enforce_hostnames": false,
			"server_flag": false, "client_flag": true, "key_type": "ec", "key_bits": 256,
			"generate_lease": true, "no_store": false, "max_ttl": "24h",
		},
		Why: fmt.Sprintf("backup %s: client certificates for %s, leased so each run revokes its own", backup, tc.CommonName),
	})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func uniq(xs []string) []string {
	var out []string
	for _, x := range xs {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func quoteJoin(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
