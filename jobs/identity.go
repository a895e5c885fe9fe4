package jobs

import (
	"sort"

	"github.com/vigil-backup/vigil/hcl/config"
)

// ConfigName names what vigil setup writes for a configuration as a whole
// (the operator's Nomad policy), and prefixes the name of each job's own
// identity (JobIdentity.Name).
func ConfigName(cfg *config.Config) string { return "vigil-" + cfg.ID }

// What a job does, which decides the rights its identity gets.
const (
	KindBackup = "backup" // takes backups, prunes; never decrypts
	KindDrill  = "drill"  // restores into a scratch server; never signs
	KindServe  = "serve"  // reads records, keeps checks; no credentials
)

// JobIdentity is one Nomad job of a configuration and the name of its
// own identity: its Vault policy and JWT role, its control-Consul policy
// and role. No two jobs share one, so a drill cannot sign, a backup
// cannot decrypt, and one backup's jobs cannot write another's records.
type JobIdentity struct {
	JobID     string
	Namespace string
	Kind      string
	// Backup is the backup the job serves; "" for the serve job.
	Backup string
	// Name is ConfigName-<kind>[-<backup>]: the kinds' prefixes keep the
	// names of two jobs (and of the config-wide policies) apart.
	Name string
}

// Identities lists the configuration's jobs, sorted by namespace and job
// ID: the identities vigil setup writes and the compiler logs in with.
func Identities(cfg *config.Config) []JobIdentity {
	var out []JobIdentity
	for i := range cfg.Backups {
		b := &cfg.Backups[i]
		out = append(out, identity(cfg, KindBackup, b))
		if b.Verify != nil && b.Verify.Schedule != "" {
			out = append(out, identity(cfg, KindDrill, b))
		}
	}
	if cfg.Consul.Enabled && len(cfg.Backups) > 0 {
		out = append(out, identity(cfg, KindServe, nil))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].JobID < out[j].JobID
	})
	return out
}

// IdentityOf is the identity of the job of kind for backup b (nil: serve).
func IdentityOf(cfg *config.Config, kind string, b *config.Backup) JobIdentity {
	return identity(cfg, kind, b)
}

// identity is the identity of the job of kind for backup b (nil: serve).
func identity(cfg *config.Config, kind string, b *config.Backup) JobIdentity {
	if b == nil {
		return JobIdentity{JobID: ServeID(cfg), Namespace: Namespace(cfg.Nomad.Namespace), Kind: KindServe, Name: ConfigName(cfg) + "-" + KindServe}
	}
	id := BackupPrefix + b.Name
	if kind == KindDrill {
		id = VerifyPrefix + b.Name
	}
	return JobIdentity{JobID: id, Namespace: Namespace(b.Nomad.Namespace), Kind: kind, Backup: b.Name, Name: ConfigName(cfg) + "-" + kind + "-" + b.Name}
}

// IDsByNamespace lists the configuration's Nomad job IDs by namespace:
// what the operator's Nomad policy lets it submit.
func IDsByNamespace(cfg *config.Config) map[string][]string {
	out := map[string][]string{}
	for _, j := range Identities(cfg) {
		out[j.Namespace] = append(out[j.Namespace], j.JobID)
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

// VaultRole is the Vault JWT role a job logs in with: the spec's role,
// except where the spec names the one vigil setup writes (ConfigName).
// Then each job has its own role (JobIdentity.Name), bound to its own
// namespace and job ID alone: Vault matches each bound claim on its own,
// so a role listing several namespaces and job IDs would let anyone who
// may submit jobs in one namespace log in as another's job, and a role
// shared by a configuration's jobs would give a drill the backup's rights.
func VaultRole(j JobIdentity, cfg *config.Config, role string) string {
	if role != ConfigName(cfg) {
		return role
	}
	return j.Name
}
