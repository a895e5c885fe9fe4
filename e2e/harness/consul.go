package harness

import (
	"context"
	"path/filepath"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/plugin/scratch"
)

// Consul is a `consul agent -dev` on loopback.
type Consul struct {
	Proc *scratch.Proc
	// Addr is host:port of the HTTP API.
	Addr string
	Dir  string
}

// URL is the HTTP API's base URL.
func (c *Consul) URL() string { return "http://" + c.Addr }

// Client returns an API client for this agent.
func (c *Consul) Client() (*consul.Client, error) {
	cfg := consul.DefaultNonPooledConfig()
	cfg.Address = c.Addr
	cfg.Scheme = "http"
	cfg.Token = ""
	return consul.NewClient(cfg)
}

// StartConsul starts a dev agent in a new directory under dir.
func StartConsul(ctx context.Context, dir, name string) (*Consul, error) {
	bin, err := Tool("consul")
	if err != nil {
		return nil, err
	}
	d := filepath.Join(dir, name)
	p, addr, err := scratch.Consul(ctx, bin, d, name)
	if err != nil {
		return nil, err
	}
	return &Consul{Proc: p, Addr: addr, Dir: d}, nil
}

// Stop ends the agent.
func (c *Consul) Stop() {
	if c != nil {
		c.Proc.Stop(10 * time.Second)
	}
}
