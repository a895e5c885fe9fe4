package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/jobs/policy"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// SetupCommand prints, and with -apply writes, the least privileges the
// configuration's runs and its operator need.
type SetupCommand struct{ *Meta }

func (c *SetupCommand) Synopsis() string {
	return "Print or write the least-privilege policies the specs need"
}

func (c *SetupCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil setup [options] [PATH]

  Derives from the backup specs in PATH exactly what their runs may do, as
  "nomad setup consul" and "nomad setup vault" do for Nomad, and prints it:

  - control Consul: a policy with each backup's lock key and records,
    sessions, and vigil serve's leader lock, node and service; a role
    carrying it; and a binding rule of Nomad's auth method that gives the
    role to exactly this configuration's jobs, per namespace;
  - each Consul backed up: acl = "write" for consul_snapshot, key_prefix
    read for consul_kv; and the role of Vault's Consul secrets engine whose
    tokens carry it;
  - Vault: the policy of every credential source (its path, lease renewal
    and revocation), the JWT role the jobs log in with, and the PKI roles
    etcd client certificates come from;
  - etcd: the user a certificate's CN stands for, with the root role
    (etcd allows snapshots to no narrower role);
  - Nomad: the ACL policy an operator needs for plan and apply.

  With -apply it writes them, idempotently, and shows what changed. That
  needs a Consul token that may write ACLs (CONSUL_HTTP_TOKEN), a Vault
  token that may write sys/policy, auth/<mount>/role and the engines'
  roles (VAULT_TOKEN), a Nomad management token (NOMAD_TOKEN), and etcd's
  root user (ETCDCTL_CERT and ETCDCTL_KEY, a certificate whose CN is root).
  Systems whose address is not known are skipped, and said so.

Setup Options:

  -apply                   Write what is printed.
  -json                    Print as JSON, for review tools.
  -consul-auth-method=NAME Nomad's auth method in Consul (nomad-workloads).
  -vault-jwt-mount=PATH    Nomad's JWT auth mount in Vault (jwt-nomad).
  -vault-audience=AUD      The aud of the jobs' Vault identities (vault.io).

` + specFlagsHelp + "\n\n" + nomadFlagsHelp)
}

func (c *SetupCommand) Run(args []string) int {
	var sf specFlags
	var nf nomadFlags
	var apply, asJSON bool
	o := policy.DefaultOptions
	fs := c.flagSet("setup")
	sf.register(fs)
	nf.register(fs)
	fs.BoolVar(&apply, "apply", false, "")
	fs.BoolVar(&asJSON, "json", false, "")
	fs.StringVar(&o.ConsulAuthMethod, "consul-auth-method", o.ConsulAuthMethod, "")
	fs.StringVar(&o.VaultJWTMount, "vault-jwt-mount", o.VaultJWTMount, "")
	fs.StringVar(&o.VaultAudience, "vault-audience", o.VaultAudience, "")
	if err := fs.Parse(args); err != nil {
		return exitFail
	}
	path, err := specPath(fs.Args())
	if err != nil {
		c.errorf("setup: %v", err)
		return exitFail
	}
	cfg := c.loadSpec(path, sf)
	if cfg == nil {
		return exitFail
	}
	s := policy.Make(cfg, o)
	if !apply {
		if asJSON {
			return boolExit(writeJSON(c.Stdout, s) == nil)
		}
		printSetup(c.Stdout, s)
		return exitOK
	}
	clients, err := c.setupClients(cfg, nf)
	if err != nil {
		c.errorf("setup: %v", err)
		return exitFail
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var changes []policy.Change
	err = policy.Apply(ctx, s, clients, func(ch policy.Change) {
		changes = append(changes, ch)
		if !asJSON {
			fmt.Fprintln(c.Stdout, ch)
		}
	})
	if asJSON {
		writeJSON(c.Stdout, map[string]any{"setup": s, "changes": changes})
	}
	if err != nil {
		c.errorf("setup: %v", err)
		return exitFail
	}
	if !asJSON {
		for _, n := range s.Notes {
			fmt.Fprintln(c.Stdout, "note: "+n)
		}
	}
	return exitOK
}

// setupClients connects to what -apply writes: each from its CLI's
// variables and the spec, as the runs do.
func (c *SetupCommand) setupClients(cfg *config.Config, nf nomadFlags) (policy.Clients, error) {
	var cl policy.Clients
	cl.Consul = func(p policy.Policy) (*consul.Client, error) {
		if p.Server == policy.ControlServer {
			return plugin.ControlClient(cfg.Consul)
		}
		return plugin.ConsulClient(strings.TrimPrefix(p.Server, "CONSUL_HTTP_ADDR"), "", "", p.TLS, plugin.SpecOverEnv, "")
	}
	if cfg.Vault.Address != "" || os.Getenv("VAULT_ADDR") != "" {
		v, err := tasks.VaultClient(cfg.Vault)
		if err != nil {
			return cl, err
		}
		cl.Vault = v
	}
	n, err := nf.client(cfg.Nomad)
	if err != nil {
		return cl, err
	}
	cl.Nomad = n
	cl.Etcd = func(u policy.EtcdUser) (*clientv3.Client, error) {
		t := u.TLS
		if ca := os.Getenv("ETCDCTL_CACERT"); ca != "" {
			t = &config.TLS{CAFile: ca}
		}
		admin := &config.TLS{}
		if t != nil {
			*admin = *t
		}
		admin.CertFile, admin.KeyFile = os.Getenv("ETCDCTL_CERT"), os.Getenv("ETCDCTL_KEY")
		tc, err := plugin.ClientTLS(admin, nil)
		if err != nil {
			return nil, err
		}
		ec, err := clientv3.New(clientv3.Config{Endpoints: u.Endpoints, TLS: tc, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			return nil, fmt.Errorf("setup: etcd %s: %w", strings.Join(u.Endpoints, ","), err)
		}
		return ec, nil
	}
	return cl, nil
}

func printSetup(w interface{ Write([]byte) (int, error) }, s *policy.Setup) {
	fmt.Fprintf(w, "# vigil setup for configuration %q\n\n", s.ConfigID)
	for _, p := range s.Policies {
		where := p.System
		if p.Server != "" {
			where += " (" + p.Server + ")"
		}
		fmt.Fprintf(w, "## %s policy %q\n\n%s\n", where, p.Name, p.Text())
	}
	for _, r := range s.ConsulRoles {
		fmt.Fprintf(w, "## consul (%s) role %q: policies %s\n\n", r.Server, r.Name, strings.Join(r.Policies, ", "))
	}
	for _, b := range s.BindingRules {
		fmt.Fprintf(w, "## consul (%s) binding rule of auth method %q\n\n  bind role %q where %s\n\n", b.Server, b.AuthMethod, b.BindName, b.Selector)
	}
	for _, o := range s.VaultObjects {
		fmt.Fprintf(w, "## vault write %s\n\n  # %s\n", o.Path, o.Why)
		for _, k := range sortedKeys(o.Data) {
			fmt.Fprintf(w, "  %s = %v\n", k, o.Data[k])
		}
		fmt.Fprintln(w)
	}
	for _, u := range s.EtcdUsers {
		fmt.Fprintf(w, "## etcd (%s) user %q, roles %s\n\n  # %s\n\n", strings.Join(u.Endpoints, ","), u.User, strings.Join(u.Roles, ", "), u.Why)
	}
	for _, r := range s.Retired {
		fmt.Fprintf(w, "## %s %s: deleted by -apply where it exists (%s)\n\n", r.Kind, r.Name, r.Why)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
