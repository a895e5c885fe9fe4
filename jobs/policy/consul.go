package policy

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/vigil-backup/vigil/hcl/config"
)

// What vigil serve writes on the control Consul (tasks/health, which a
// test holds these to; the compiler does not import the runtime).
const (
	serveService = "vigil"
	leaderPrefix = "vigil/serve/"
)

// ControlServer names the control Consul in a Policy's Server.
const ControlServer = "control"

// consulControl is what runs, drills and vigil serve do on the control
// Consul: each backup's lock key and records, sessions for the locks, and
// serve's leader lock, catalog node and service. Tasks get it through a
// role bound to their workload identity.
func consulControl(s *Setup, cfg *config.Config, o Options) {
	if !cfg.Consul.Enabled || len(cfg.Backups) == 0 {
		return
	}
	name := Name(cfg)
	p := Policy{System: SystemConsul, Server: ControlServer, TLS: cfg.Consul.TLS, Name: name}
	p.Rules = append(p.Rules, Rule{`session_prefix "" { policy = "write" }`,
		"locks: a run holds its lock with a session on the agent it talks to"})
	for _, b := range cfg.Backups {
		p.Rules = append(p.Rules,
			Rule{fmt.Sprintf(`key %q { policy = "write" }`, b.Lock.Key), "the lock of backup " + b.Name},
			Rule{fmt.Sprintf(`key_prefix %q { policy = "write" }`, config.RecordPrefix+b.Name+"/"), "the run records of backup " + b.Name},
			Rule{fmt.Sprintf(`key_prefix %q { policy = "write" }`, config.HistoryPrefix+b.Name+"/"), "the run history of backup " + b.Name})
	}
	node := cfg.Serve.Node
	p.Rules = append(p.Rules,
		Rule{fmt.Sprintf(`key_prefix %q { policy = "write" }`, leaderPrefix+node+"/"), "vigil serve's leader lock"},
		Rule{fmt.Sprintf(`node %q { policy = "write" }`, node), "vigil serve registers the checks on this external catalog node"},
		Rule{fmt.Sprintf(`service %q { policy = "write" }`, serveService), "vigil serve's service, which carries the checks"})
	s.Policies = append(s.Policies, p)
	s.ConsulRoles = append(s.ConsulRoles, ConsulRole{Server: ControlServer, Name: name, Policies: []string{name}})
	ids := jobIDs(cfg)
	for _, ns := range sortedNamespaces(ids) {
		s.BindingRules = append(s.BindingRules, BindingRule{
			Server: ControlServer, AuthMethod: o.ConsulAuthMethod, BindName: name,
			Selector:    fmt.Sprintf(`value.nomad_namespace == %q and value.nomad_job_id matches %q`, ns, anyOf(ids[ns])),
			Description: fmt.Sprintf("vigil configuration %s: its jobs in namespace %s", cfg.ID, ns),
		})
	}
}

// anyOf is a regular expression matching exactly the given names.
func anyOf(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = regexp.QuoteMeta(n)
	}
	return "^(" + strings.Join(q, "|") + ")$"
}

// consulTargets is what each backed-up Consul must allow the run's token:
// acl = "write" for a raft snapshot (Consul checks exactly that), read on
// the prefix for a KV export. When the token comes from Vault's Consul
// secrets engine, its role there carries the policy.
func consulTargets(s *Setup, cfg *config.Config) {
	type target struct {
		rules []Rule
		roles map[string]bool
		tls   *config.TLS
	}
	byServer := map[string]*target{}
	for _, b := range cfg.Backups {
		if b.Consul == nil {
			continue
		}
		server := b.Consul.Address
		if server == "" {
			server = "CONSUL_HTTP_ADDR"
		}
		t := byServer[server]
		if t == nil {
			t = &target{roles: map[string]bool{}, tls: b.Consul.TLS}
			byServer[server] = t
		}
		switch b.Type {
		case config.TypeConsulSnapshot:
			t.rules = append(t.rules, Rule{`acl = "write"`, "backup " + b.Name + ": Consul allows a raft snapshot to tokens with acl write"})
		case config.TypeConsulKV:
			t.rules = append(t.rules, Rule{fmt.Sprintf(`key_prefix %q { policy = "read" }`, b.Consul.Prefix), "backup " + b.Name + ": the KV export of its prefix"})
		}
		if c := b.Consul.Creds; c != nil {
			t.roles[c.VaultPath] = true
		}
	}
	var servers []string
	for server := range byServer {
		servers = append(servers, server)
	}
	sort.Strings(servers)
	for i, server := range servers {
		t := byServer[server]
		name := Name(cfg) + "-target"
		if len(servers) > 1 {
			name = fmt.Sprintf("%s-target-%d", Name(cfg), i+1)
		}
		s.Policies = append(s.Policies, Policy{System: SystemConsul, Server: server, TLS: t.tls, Name: name, Rules: dedupe(t.rules), Manual: len(t.roles) == 0})
		var paths []string
		for p := range t.roles {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			s.VaultObjects = append(s.VaultObjects, VaultObject{
				Path: strings.Replace(p, "/creds/", "/roles/", 1),
				Data: map[string]any{"consul_policies": []string{name}, "ttl": "1h", "max_ttl": "24h"},
				Why:  fmt.Sprintf("the Consul tokens runs get at %s carry policy %s of %s", p, name, server),
			})
		}
	}
}

// dedupe drops repeated rules, keeping the first's reason.
func dedupe(rules []Rule) []Rule {
	var out []Rule
	seen := map[string]int{}
	for _, r := range rules {
		if i, ok := seen[r.Text]; ok {
			out[i].Why += "; " + r.Why
			continue
		}
		seen[r.Text] = len(out)
		out = append(out, r)
	}
	return out
}
