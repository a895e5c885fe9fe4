package jobs

import (
	"sort"

	"github.com/vigil-backup/vigil/hcl/config"
)

// ConfigName names what vigil setup writes for a configuration: its
// policies and, in a single namespace, its Vault JWT role.
func ConfigName(cfg *config.Config) string { return "vigil-" + cfg.ID }

// IDsByNamespace lists the configuration's Nomad job IDs by namespace:
// the workload identities the rules vigil setup writes trust.
func IDsByNamespace(cfg *config.Config) map[string][]string {
	out := map[string][]string{}
	for i := range cfg.Backups {
		b := &cfg.Backups[i]
		ns := Namespace(b.Nomad.Namespace)
		out[ns] = append(out[ns], BackupPrefix+b.Name)
		if b.Verify != nil && b.Verify.Schedule != "" {
			out[ns] = append(out[ns], VerifyPrefix+b.Name)
		}
	}
	if cfg.Consul.Enabled && len(cfg.Backups) > 0 {
		ns := Namespace(cfg.Nomad.Namespace)
		out[ns] = append(out[ns], ServeID(cfg))
	}
	for ns := range out {
		sort.Strings(out[ns])
	}
	return out
}

// Namespace is a job's Nomad namespace: "default" when unset.
func Namespace(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

// VaultRole is the Vault JWT role the jobs of namespace ns log in with:
// the spec's role, except where it is the one vigil setup writes
// (ConfigName) and the configuration's jobs span several namespaces.
// Then each namespace has its own role, ConfigName-<namespace>, bound to
// that namespace's job IDs alone: Vault matches each bound claim on its
// own, so one role listing both namespaces and both lists of job IDs
// would let anyone who may submit jobs in one namespace register a job
// named like another namespace's and log in as it.
func VaultRole(cfg *config.Config, ns, role string) string {
	if role != ConfigName(cfg) || len(IDsByNamespace(cfg)) < 2 {
		return role
	}
	return role + "-" + Namespace(ns)
}
