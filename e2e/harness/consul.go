package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/plugin/scratch"
)

// Consul is a Consul agent on loopback: with Security, HTTPS only, ACLs on
// with default deny, and a management token only the harness holds.
type Consul struct {
	Proc *scratch.Proc
	// Addr is host:port of the HTTP(S) API.
	Addr string
	Dir  string
	Sec  *Security
	// Management is the bootstrap token ("" in the open lab).
	Management string
}

// URL is the API's base URL.
func (c *Consul) URL() string { return c.Sec.scheme() + "://" + c.Addr }

// Client returns a client with the management token.
func (c *Consul) Client() (*consul.Client, error) { return c.ClientWith(c.Management) }

// ClientWith returns a client with the given token.
func (c *Consul) ClientWith(token string) (*consul.Client, error) {
	cfg := consul.DefaultNonPooledConfig()
	cfg.Address, cfg.Scheme, cfg.Token, cfg.TokenFile = c.Addr, c.Sec.scheme(), token, ""
	cfg.TLSConfig = consul.TLSConfig{}
	if c.Sec != nil {
		cfg.TLSConfig = consul.TLSConfig{CAFile: c.Sec.CA.File}
	}
	return consul.NewClient(cfg)
}

// consulOptions lock an agent down with sec.
func consulOptions(sec *Security, persistent bool) scratch.ConsulOptions {
	o := scratch.ConsulOptions{Persistent: persistent}
	if sec == nil {
		return o
	}
	o.HTTPS, o.Client = true, sec.HTTPClient()
	o.HCL = fmt.Sprintf(`
tls {
  defaults {
    ca_file         = %q
    cert_file       = %q
    key_file        = %q
    verify_incoming = false
    verify_outgoing = true
  }
}
acl {
  enabled                  = true
  default_policy           = "deny"
  enable_token_persistence = false
  tokens {
    initial_management = %q
    agent              = %q
  }
}`, sec.CA.File, sec.Server.CertFile, sec.Server.KeyFile, sec.ConsulManagement, sec.ConsulManagement)
	return o
}

// StartConsul starts a dev agent in a new directory under dir.
func StartConsul(ctx context.Context, dir, name string, sec *Security) (*Consul, error) {
	bin, err := Tool("consul")
	if err != nil {
		return nil, err
	}
	ports, err := scratch.FreePorts(4)
	if err != nil {
		return nil, err
	}
	d := filepath.Join(dir, name)
	p, addr, err := scratch.ConsulWith(ctx, bin, d, name, ports, consulOptions(sec, false))
	if err != nil {
		return nil, err
	}
	c := &Consul{Proc: p, Addr: addr, Dir: d, Sec: sec}
	if sec != nil {
		c.Management = sec.ConsulManagement
	}
	return c, nil
}

// Stop ends the agent.
func (c *Consul) Stop() {
	if c != nil {
		c.Proc.Stop(10 * time.Second)
	}
}

// ConsulServer is a one-server Consul cluster keeping its state on disk,
// for tests that restart the leader.
type ConsulServer struct {
	Consul
	ports []int
	bin   string
}

// StartConsulServer starts it on free ports.
func StartConsulServer(ctx context.Context, dir, name string, sec *Security) (*ConsulServer, error) {
	bin, err := Tool("consul")
	if err != nil {
		return nil, err
	}
	ports, err := scratch.FreePorts(4)
	if err != nil {
		return nil, err
	}
	s := &ConsulServer{Consul: Consul{Dir: filepath.Join(dir, name), Sec: sec}, ports: ports, bin: bin}
	if sec != nil {
		s.Management = sec.ConsulManagement
	}
	return s, s.start(ctx, name)
}

func (s *ConsulServer) start(ctx context.Context, name string) error {
	p, addr, err := scratch.ConsulWith(ctx, s.bin, s.Dir, name, s.ports, consulOptions(s.Sec, true))
	if err != nil {
		return err
	}
	s.Proc, s.Addr = p, addr
	return nil
}

// Restart stops the server and starts it again on the same ports and data.
func (s *ConsulServer) Restart(ctx context.Context) error {
	s.Stop()
	return s.start(ctx, s.Proc.Name)
}

// Token creates a token carrying the given roles and policies.
func (c *Consul) Token(roles, policies []string, description string) (string, error) {
	cl, err := c.Client()
	if err != nil {
		return "", err
	}
	t := &consul.ACLToken{Description: description}
	for _, r := range roles {
		t.Roles = append(t.Roles, &consul.ACLTokenRoleLink{Name: r})
	}
	for _, p := range policies {
		t.Policies = append(t.Policies, &consul.ACLTokenPolicyLink{Name: p})
	}
	out, _, err := cl.ACL().TokenCreate(t, nil)
	if err != nil {
		return "", fmt.Errorf("harness: consul token: %w", err)
	}
	return out.SecretID, nil
}
