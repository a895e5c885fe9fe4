package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/jobs"
)

// vaultRun writes one Vault policy and one JWT role per job: each policy
// holds only the paths its own job reads (the same lists each run checks
// before it starts), with lease renewal and revocation where it leases;
// each role is bound to its job's namespace and job ID alone. The PKI
// roles certificates are issued under are written too.
func vaultRun(s *Setup, cfg *config.Config, o Options) {
	name := Name(cfg)
	written := map[string]bool{}
	for i := range cfg.Backups {
		b := &cfg.Backups[i]
		kinds := []string{jobs.KindBackup}
		if b.Verify != nil {
			// Also without a drill job: an operator who drills by hand
			// (vigil verify) takes this policy.
			kinds = append(kinds, jobs.KindDrill)
		}
		for _, kind := range kinds {
			j := jobs.IdentityOf(cfg, kind, b)
			if p := vaultPolicy(j, jobVaultNeeds(s, cfg, b, kind)); len(p.Rules) > 0 {
				s.Policies = append(s.Policies, p)
				written[p.Name] = true
			}
		}
	}
	for _, j := range jobs.Identities(cfg) {
		if j.Kind == jobs.KindServe {
			continue // serve reads records: no credential source
		}
		var policies []string
		if written[j.Name] {
			policies = []string{j.Name}
		}
		s.VaultObjects = append(s.VaultObjects, VaultObject{
			Path: "auth/" + o.VaultJWTMount + "/role/" + j.Name,
			Data: map[string]any{
				"role_type": "jwt", "bound_audiences": []string{o.VaultAudience},
				"user_claim": "/nomad_job_id", "user_claim_json_pointer": true,
				"bound_claims":   map[string]any{"nomad_namespace": []string{j.Namespace}, "nomad_job_id": []string{j.JobID}},
				"claim_mappings": map[string]string{"nomad_namespace": "nomad_namespace", "nomad_job_id": "nomad_job_id", "nomad_task": "nomad_task"},
				"token_type":     "service", "token_policies": policies,
				// A periodic token lives as long as the run renews it.
				"token_period": "30m",
			},
			Why: fmt.Sprintf("job %s in namespace %s logs in with its workload identity and gets its own policy only", j.JobID, j.Namespace),
		})
	}
	for _, b := range cfg.Backups {
		if b.Nomad.VaultEnabled && b.Nomad.VaultRole != name {
			s.Notes = append(s.Notes, fmt.Sprintf("backup %s: its jobs log in to Vault with role %q, which vigil setup does not write; set nomad { vault { role = %q } } to give each job the role vigil setup writes for it", b.Name, b.Nomad.VaultRole, name))
			break
		}
	}
}

// jobVaultNeeds lists what one job of backup b reads from Vault. A
// backup job: the storage's and the target's credentials, a data key and
// a signature per backup, signature checks, and the raft snapshot when it
// backs up Vault. A drill job: the storage's credentials, signature checks
// and the data key unwrapped; the target's credentials only when it
// drills in place (Elasticsearch).
func jobVaultNeeds(s *Setup, cfg *config.Config, b *config.Backup, kind string) []config.VaultNeed {
	var ns []config.VaultNeed
	for _, st := range b.Destinations() {
		ns = append(ns, st.Credentials.VaultNeeds()...)
	}
	tc := b.TargetCreds()
	if kind == jobs.KindDrill {
		if config.DrillsInPlace(b.Type) {
			ns = append(ns, tc.VaultNeeds()...)
		}
		return append(append(ns, b.Encryption.DrillNeeds()...), b.Signing.DrillNeeds()...)
	}
	ns = append(ns, tc.VaultNeeds()...)
	ns = append(append(ns, b.Encryption.BackupNeeds()...), b.Signing.BackupNeeds()...)
	if b.VaultCluster != nil {
		if a := b.VaultCluster.Address; a == "" || a == cfg.Vault.Address {
			ns = append(ns, config.VaultRaftNeed)
		} else {
			s.Notes = append(s.Notes, fmt.Sprintf("backup %s reads the Vault at %s, not the one its runs log in to: the run's VAULT_TOKEN must be that cluster's, with read on %s", b.Name, a, config.VaultRaftNeed.Path))
		}
	}
	if tc != nil && tc.Source == config.CredVaultPKI {
		pkiRole(s, b.Name, tc)
	}
	if tc != nil && tc.Source == config.CredVaultDatabase {
		role := strings.Replace(tc.VaultPath, "/creds/", "/roles/", 1)
		s.Notes = append(s.Notes, fmt.Sprintf("backup %s: create the role %s in Vault's database engine yourself (vigil cannot know your database's grants): its creation_statements must let the user dump the database (PostgreSQL 14 and later: GRANT pg_read_all_data), and each run's user is dropped when the run revokes its lease", b.Name, role))
	}
	return ns
}

// vaultPolicy is job j's policy: one rule per path, with its
// capabilities and why the job needs it.
func vaultPolicy(j jobs.JobIdentity, needs []config.VaultNeed) Policy {
	p := Policy{System: SystemVault, Name: j.Name}
	caps := map[string][]string{}
	why := map[string][]string{}
	var order []string
	for _, n := range needs {
		if _, ok := caps[n.Path]; !ok {
			order = append(order, n.Path)
		}
		if !contains(caps[n.Path], n.Capability) {
			caps[n.Path] = append(caps[n.Path], n.Capability)
		}
		if !contains(why[n.Path], n.Why) {
			why[n.Path] = append(why[n.Path], n.Why)
		}
	}
	for _, path := range order {
		sort.Strings(caps[path])
		p.Rules = append(p.Rules, Rule{
			Text: fmt.Sprintf("path %q {\n  capabilities = [%s]\n}", path, quoteJoin(caps[path])),
			Why:  fmt.Sprintf("%s: %s (%s)", j.Kind, strings.Join(why[path], "; "), j.Backup),
		})
	}
	return p
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

func quoteJoin(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
