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

// ConsulServer is a one-server Consul cluster keeping its state on disk,
// for tests that restart the leader.
type ConsulServer struct {
	Consul
	ports []int
	bin   string
}

// StartConsulServer starts it on free ports.
func StartConsulServer(ctx context.Context, dir, name string) (*ConsulServer, error) {
	bin, err := Tool("consul")
	if err != nil {
		return nil, err
	}
	ports, err := scratch.FreePorts(4)
	if err != nil {
		return nil, err
	}
	s := &ConsulServer{Consul: Consul{Dir: filepath.Join(dir, name)}, ports: ports, bin: bin}
	return s, s.start(ctx, name)
}

func (s *ConsulServer) start(ctx context.Context, name string) error {
	p, addr, err := scratch.ConsulOn(ctx, s.bin, s.Dir, name, s.ports, true)
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
