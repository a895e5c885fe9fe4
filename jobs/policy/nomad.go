package policy

import (
	"fmt"

	"github.com/vigil-backup/vigil/hcl/config"
)

// nomadOperator is the Nomad ACL policy of the operator who runs vigil
// plan and apply: list the namespace's jobs (orphans), read them (plan's
// diff) and submit them (register, plan, stop orphans).
func nomadOperator(s *Setup, cfg *config.Config) {
	ids := jobIDs(cfg)
	if len(ids) == 0 {
		return
	}
	p := Policy{System: SystemNomad, Name: Name(cfg) + "-operator"}
	for _, ns := range sortedNamespaces(ids) {
		p.Rules = append(p.Rules, Rule{
			Text: fmt.Sprintf("namespace %q {\n  capabilities = [\"list-jobs\", \"read-job\", \"submit-job\"]\n}", ns),
			Why:  fmt.Sprintf("vigil plan and apply of the jobs in namespace %s", ns),
		})
	}
	s.Policies = append(s.Policies, p)
}

// etcdUsers are the etcd users the certificates Vault issues stand for
// (etcd takes a client certificate's CN as the user). etcd allows a
// snapshot only to the root role: no narrower role can take one.
func etcdUsers(s *Setup, cfg *config.Config) {
	for _, b := range cfg.Backups {
		if b.Etcd == nil || b.Etcd.Creds == nil {
			continue
		}
		s.EtcdUsers = append(s.EtcdUsers, EtcdUser{
			Endpoints: b.Etcd.Endpoints, TLS: b.Etcd.TLS, User: b.Etcd.Creds.CommonName, Roles: []string{"root"},
			Why: "backup " + b.Name + ": etcd's Maintenance.Snapshot needs the root role",
		})
	}
}
