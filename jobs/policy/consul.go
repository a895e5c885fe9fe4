package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/jobs"
)

// What vigil serve writes on the control Consul (tasks/health, which a
// test holds these to; the compiler does not import the runtime).
const (
	serveService  = "vigil"
	leaderPrefix  = "vigil/serve/"
	registeredKey = "registered"
)

// ControlServer names the control Consul in a Policy's Server.
const ControlServer = "control"

// consulControl gives each job its own policy and role on the control
// Consul, and binds that job's workload identity (its namespace and job
// ID, matched together) to it. A backup job holds its backup's lock
// (through a session), records and history; a drill job its backup's
// records and history; vigil serve reads every backup's records and
// history and keeps its leader lock, catalog node and service (the
// checks). No job may write another backup's records.
func consulControl(s *Setup, cfg *config.Config, o Options) {
	if !cfg.Consul.Enabled || len(cfg.Backups) == 0 {
		return
	}
	for _, j := range jobs.Identities(cfg) {
		p := Policy{System: SystemConsul, Server: ControlServer, TLS: cfg.Consul.TLS, Name: j.Name, Rules: controlRules(cfg, j)}
		s.Policies = append(s.Policies, p)
		s.ConsulRoles = append(s.ConsulRoles, ConsulRole{Server: ControlServer, Name: j.Name, Policies: []string{j.Name}})
		s.BindingRules = append(s.BindingRules, BindingRule{
			Server: ControlServer, AuthMethod: o.ConsulAuthMethod, BindName: j.Name,
			Selector:    fmt.Sprintf(`value.nomad_namespace == %q and value.nomad_job_id == %q`, j.Namespace, j.JobID),
			Description: fmt.Sprintf("vigil configuration %s: job %s in namespace %s", cfg.ID, j.JobID, j.Namespace),
		})
	}
}

// controlRules are job j's rules on the control Consul.
func controlRules(cfg *config.Config, j jobs.JobIdentity) []Rule {
	records := func(b string) []Rule {
		return []Rule{
			{fmt.Sprintf(`key_prefix %q { policy = "write" }`, config.RecordPrefix+b+"/"), "the run records of backup " + b},
			{fmt.Sprintf(`key_prefix %q { policy = "write" }`, config.HistoryPrefix+b+"/"), "the run history of backup " + b},
		}
	}
	switch j.Kind {
	case jobs.KindBackup:
		b, _ := cfg.Backup(j.Backup)
		return append([]Rule{
			{`session_prefix "" { policy = "write" }`, "locks: a run holds its lock with a session on the agent it talks to"},
			{fmt.Sprintf(`key %q { policy = "write" }`, b.Lock.Key), "the lock of backup " + b.Name},
		}, records(b.Name)...)
	case jobs.KindDrill:
		return records(j.Backup)
	}
	node := cfg.Serve.Node
	rules := []Rule{
		{`session_prefix "" { policy = "write" }`, "vigil serve's leader lock is held with a session"},
		{fmt.Sprintf(`key_prefix %q { policy = "write" }`, leaderPrefix+node+"/"), "vigil serve's leader lock"},
		{fmt.Sprintf(`node %q { policy = "write" }`, node), "vigil serve registers the checks on this external catalog node"},
		{fmt.Sprintf(`service %q { policy = "write" }`, serveService), "vigil serve's service, which carries the checks"},
	}
	for _, b := range cfg.Backups {
		rules = append(rules,
			Rule{fmt.Sprintf(`key_prefix %q { policy = "read" }`, config.RecordPrefix+b.Name+"/"), "the run records of backup " + b.Name},
			Rule{fmt.Sprintf(`key %q { policy = "write" }`, config.RecordPrefix+b.Name+"/"+registeredKey), "when backup " + b.Name + " came under watch (a backup that never ran is late only after its grace)"},
			Rule{fmt.Sprintf(`key_prefix %q { policy = "read" }`, config.HistoryPrefix+b.Name+"/"), "the run history of backup " + b.Name})
	}
	return rules
}

// consulTargets is what each backed-up Consul must allow one backup's
// token, in a policy of that backup's own: acl = "write" for a raft
// snapshot (Consul checks exactly that), read on the prefix for a KV
// export. A consul_kv backup never gets a snapshot's acl = "write"
// because another backup snapshots the same Consul. When the token comes
// from Vault's Consul secrets engine, its role there carries the policy;
// two backups sharing one such role share their policies, and setup says
// so.
func consulTargets(s *Setup, cfg *config.Config) {
	byRole := map[string][]string{}
	server := map[string]string{}
	var paths []string
	for _, b := range cfg.Backups {
		if b.Consul == nil {
			continue
		}
		addr := b.Consul.Address
		if addr == "" {
			addr = "CONSUL_HTTP_ADDR"
		}
		name := Name(cfg) + "-target-" + b.Name
		var rule Rule
		switch b.Type {
		case config.TypeConsulSnapshot:
			rule = Rule{`acl = "write"`, "backup " + b.Name + ": Consul allows a raft snapshot to tokens with acl write"}
		case config.TypeConsulKV:
			rule = Rule{fmt.Sprintf(`key_prefix %q { policy = "read" }`, b.Consul.Prefix), "backup " + b.Name + ": the KV export of its prefix"}
		default:
			continue
		}
		c := b.Consul.Creds
		s.Policies = append(s.Policies, Policy{System: SystemConsul, Server: addr, TLS: b.Consul.TLS, Name: name, Rules: []Rule{rule}, Manual: c == nil})
		if c == nil {
			continue
		}
		if _, ok := byRole[c.VaultPath]; !ok {
			paths = append(paths, c.VaultPath)
		}
		byRole[c.VaultPath] = append(byRole[c.VaultPath], name)
		server[c.VaultPath] = addr
	}
	sort.Strings(paths)
	for _, p := range paths {
		names := byRole[p]
		s.VaultObjects = append(s.VaultObjects, VaultObject{
			Path: strings.Replace(p, "/creds/", "/roles/", 1),
			Data: map[string]any{"consul_policies": names, "ttl": "1h", "max_ttl": "24h"},
			Why:  fmt.Sprintf("the Consul tokens runs get at %s carry policies %s of %s", p, strings.Join(names, ", "), server[p]),
		})
		if len(names) > 1 {
			s.Notes = append(s.Notes, fmt.Sprintf("backups share the Consul credentials at %s, so each gets the others' rules (%s): give each backup its own role in Vault's Consul engine", p, strings.Join(names, ", ")))
		}
	}
}
