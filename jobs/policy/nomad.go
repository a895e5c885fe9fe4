package policy

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

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
	p.Rules = append(p.Rules, hostVolumeRules(cfg)...)
	s.Policies = append(s.Policies, p)
}

// hostVolumeRules let the operator submit the jobs that mount host
// volumes: Nomad checks them against the submitter's token. "write" is
// mount-readwrite and mount-readonly (a local storage's backups and
// drills); "read" is mount-readonly (a nomad block's read-only mounts).
func hostVolumeRules(cfg *config.Config) []Rule {
	type use struct {
		write bool
		by    []string
	}
	volumes := map[string]*use{}
	add := func(volume, by string, write bool) {
		u := volumes[volume]
		if u == nil {
			u = &use{}
			volumes[volume] = u
		}
		u.write = u.write || write
		if !slices.Contains(u.by, by) {
			u.by = append(u.by, by)
		}
	}
	for _, b := range cfg.Backups {
		for _, st := range b.Destinations() {
			if v := st.HostVolume; st.Kind == config.StorageLocal && v != "" {
				add(v, "local storage of "+b.Name, true)
			}
		}
		for _, m := range b.Nomad.Mounts {
			add(m.Volume, "job of "+b.Name, !m.ReadOnly)
		}
	}
	for _, m := range cfg.Nomad.Mounts {
		add(m.Volume, "the serve job", !m.ReadOnly)
	}
	var rules []Rule
	for _, v := range slices.Sorted(maps.Keys(volumes)) {
		u, policy := volumes[v], "read"
		if u.write {
			policy = "write"
		}
		rules = append(rules, Rule{
			Text: fmt.Sprintf("host_volume %q {\n  policy = %q\n}", v, policy),
			Why:  fmt.Sprintf("submit the jobs that mount host volume %s (%s)", v, strings.Join(u.by, ", ")),
		})
	}
	return rules
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

// nomadTargets is what the token of each nomad_snapshot run must allow:
// the operator capability snapshot-save (Nomad 1.11.3 and later; older
// clusters allow a snapshot to management tokens only). When the token
// comes from Vault's Nomad secrets engine, its role there carries the
// policy. The policy names the cluster it belongs in (Server); Apply
// writes it only there.
func nomadTargets(s *Setup, cfg *config.Config) {
	byServer := map[string][]string{}
	roles := map[string]map[string]bool{}
	for _, b := range cfg.Backups {
		if b.NomadCluster == nil {
			continue
		}
		server := b.NomadCluster.Address
		byServer[server] = append(byServer[server], b.Name)
		if roles[server] == nil {
			roles[server] = map[string]bool{}
		}
		if c := b.NomadCluster.Creds; c != nil {
			roles[server][c.VaultPath] = true
		}
	}
	var servers []string
	for server := range byServer {
		servers = append(servers, server)
	}
	sort.Strings(servers)
	for i, server := range servers {
		name := Name(cfg) + "-snapshot"
		if len(servers) > 1 {
			name = fmt.Sprintf("%s-snapshot-%d", Name(cfg), i+1)
		}
		s.Policies = append(s.Policies, Policy{System: SystemNomad, Server: server, Name: name, Manual: len(roles[server]) == 0, Rules: []Rule{{
			Text: "operator {\n  capabilities = [\"snapshot-save\"]\n}",
			Why:  fmt.Sprintf("backups %s: a snapshot of the cluster state (Nomad 1.11.3 and later; a management token before)", strings.Join(byServer[server], ", ")),
		}}})
		var paths []string
		for path := range roles[server] {
			paths = append(paths, path)
		}
		sort.Strings(paths)
		for _, path := range paths {
			s.VaultObjects = append(s.VaultObjects, VaultObject{
				Path: strings.Replace(path, "/creds/", "/role/", 1),
				Data: map[string]any{"policies": []string{name}, "type": "client", "global": false},
				Why:  fmt.Sprintf("the Nomad tokens runs get at %s carry policy %s", path, name),
			})
		}
	}
}
