package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// Consul is a `consul agent -dev` on loopback.
type Consul struct {
	Proc *Proc
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
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, err
	}
	ports, err := FreePorts(4)
	if err != nil {
		return nil, err
	}
	hcl := fmt.Sprintf(`ports { http = %d, dns = -1, grpc = -1, grpc_tls = -1, serf_lan = %d, serf_wan = %d, server = %d }`,
		ports[0], ports[1], ports[2], ports[3])
	p, err := StartProc(name, d, serverEnv(), bin, "agent", "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-node", name, "-hcl", hcl, "-log-level", "warn")
	if err != nil {
		return nil, err
	}
	c := &Consul{Proc: p, Addr: fmt.Sprintf("127.0.0.1:%d", ports[0]), Dir: d}
	err = WaitHTTP(ctx, p, c.URL()+"/v1/status/leader", 30*time.Second, func(r *http.Response) bool {
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode == 200 && strings.Trim(strings.TrimSpace(string(b)), `"`) != ""
	})
	if err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	return c, nil
}

// Stop ends the agent.
func (c *Consul) Stop() {
	if c != nil {
		c.Proc.Stop(10 * time.Second)
	}
}
