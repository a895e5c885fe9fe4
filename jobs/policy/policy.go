// Package policy turns a configuration into the least privileges its runs
// and its operator need, the way jobs/ turns it into Nomad jobs: pure
// functions from config to values, printed as a view, applied by vigil
// setup. One file per system: Consul (the control Consul, and each Consul
// backed up), Vault, Nomad, etcd.
package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/jobs"
)

// Systems a rule lives in.
const (
	SystemConsul = "consul"
	SystemVault  = "vault"
	SystemNomad  = "nomad"
	SystemEtcd   = "etcd"
)

// Rule is one permission, as its system writes it, and what needs it.
type Rule struct {
	Text string `json:"rule"`
	Why  string `json:"why"`
}

// Policy is a named set of rules in one server of one system.
type Policy struct {
	System string `json:"system"`
	// Server says which one: "control" for the control Consul, else the
	// address of a Consul backed up, or "" for the only one (Vault, Nomad).
	Server string `json:"server,omitempty"`
	// TLS is how to reach that server, from the spec.
	TLS   *config.TLS `json:"tls,omitempty"`
	Name  string      `json:"name"`
	Rules []Rule      `json:"rules"`
	// Manual marks a policy setup prints for the operator but does not
	// write: the token of a Consul backed up with the environment's token
	// (no Vault credentials) is the operator's to make.
	Manual bool `json:"manual,omitempty"`
}

// Text is the policy as its system takes it.
func (p Policy) Text() string {
	var b strings.Builder
	for _, r := range p.Rules {
		fmt.Fprintf(&b, "# %s\n%s\n\n", r.Why, r.Text)
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// Without is the policy without its i-th rule: how a test shows that each
// rule is needed.
func (p Policy) Without(i int) Policy {
	p.Rules = append(append([]Rule(nil), p.Rules[:i]...), p.Rules[i+1:]...)
	return p
}

// ConsulRole is a Consul ACL role carrying policies.
type ConsulRole struct {
	Server   string   `json:"server"`
	Name     string   `json:"name"`
	Policies []string `json:"policies"`
}

// BindingRule binds the workload identities of the configuration's jobs,
// logging in through Nomad's auth method, to a role.
type BindingRule struct {
	Server      string `json:"server"`
	AuthMethod  string `json:"auth_method"`
	BindName    string `json:"bind_name"`
	Selector    string `json:"selector"`
	Description string `json:"description"`
}

// VaultObject is a Vault object written at a path: a JWT role tasks log in
// with, or a secrets engine's role a run asks for credentials.
type VaultObject struct {
	Path string         `json:"path"`
	Data map[string]any `json:"data"`
	Why  string         `json:"why"`
}

// EtcdUser is an etcd user (the CN of the certificates Vault issues) and
// the roles it needs.
type EtcdUser struct {
	Endpoints []string    `json:"endpoints"`
	TLS       *config.TLS `json:"tls,omitempty"`
	User      string      `json:"user"`
	Roles     []string    `json:"roles"`
	Why       string      `json:"why"`
}

// Setup is everything a configuration needs granted.
type Setup struct {
	ConfigID     string        `json:"config_id"`
	Policies     []Policy      `json:"policies"`
	ConsulRoles  []ConsulRole  `json:"consul_roles"`
	BindingRules []BindingRule `json:"binding_rules"`
	VaultObjects []VaultObject `json:"vault_objects"`
	EtcdUsers    []EtcdUser    `json:"etcd_users"`
	// Retired are what older versions wrote and -apply deletes.
	Retired []Retired `json:"retired,omitempty"`
	// Notes are what the operator must still do or know.
	Notes []string `json:"notes,omitempty"`
}

// Options are the names of what `nomad setup consul` and `nomad setup
// vault` made, which vigil's rules attach to.
type Options struct {
	// ConsulAuthMethod is Nomad's JWT auth method in Consul.
	ConsulAuthMethod string
	// VaultJWTMount is Nomad's JWT auth mount in Vault.
	VaultJWTMount string
	// VaultAudience is the aud of Nomad's Vault workload identities.
	VaultAudience string
}

// DefaultOptions are the names `nomad setup` uses.
var DefaultOptions = Options{ConsulAuthMethod: "nomad-workloads", VaultJWTMount: "jwt-nomad", VaultAudience: "vault.io"}

// Name is the name of the configuration's policies and roles.
func Name(cfg *config.Config) string { return jobs.ConfigName(cfg) }

// Make derives the configuration's setup. It is pure: the same config and
// options give the same setup.
func Make(cfg *config.Config, o Options) *Setup {
	s := &Setup{ConfigID: cfg.ID}
	consulControl(s, cfg, o)
	consulTargets(s, cfg)
	vaultRun(s, cfg, o)
	nomadOperator(s, cfg)
	nomadTargets(s, cfg)
	etcdUsers(s, cfg)
	retired(s, cfg, o)
	return s
}

// jobIDs lists the configuration's Nomad job IDs by namespace.
func jobIDs(cfg *config.Config) map[string][]string { return jobs.IDsByNamespace(cfg) }

func namespace(ns string) string { return jobs.Namespace(ns) }

func sortedNamespaces(m map[string][]string) []string {
	var out []string
	for ns := range m {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}
