package scratch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// NomadServer starts a one-server Nomad cluster (no client, so nothing a
// restored snapshot holds is ever scheduled) on free loopback ports,
// keeping its state in dir, and waits until it has a leader. extraHCL is
// added agent configuration (ACLs, TLS). It returns the process and the
// HTTP address.
func NomadServer(ctx context.Context, bin, dir, name, extraHCL string, client *http.Client) (*Proc, string, error) {
	ports, err := FreePorts(3)
	if err != nil {
		return nil, "", err
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, "", err
	}
	conf := fmt.Sprintf(`
name      = %q
data_dir  = %q
bind_addr = "127.0.0.1"
log_level = "WARN"
disable_update_check = true
ports {
  http = %d
  rpc  = %d
  serf = %d
}
advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}
server {
  enabled          = true
  bootstrap_expect = 1
}
client {
  enabled = false
}
%s
`, name, data, ports[0], ports[1], ports[2], extraHCL)
	path := filepath.Join(dir, name+".hcl")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, "", err
	}
	p, err := StartProc(name, dir, ServerEnv(), bin, "agent", "-config", path)
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	scheme := "http"
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	} else {
		scheme = "https"
	}
	err = WaitHTTPWith(ctx, client, p, scheme+"://"+addr+"/v1/status/leader", 60*time.Second, func(r *http.Response) bool {
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode == 200 && strings.Trim(strings.TrimSpace(string(b)), `"`) != ""
	})
	if err != nil {
		p.Stop(5 * time.Second)
		return nil, "", err
	}
	return p, addr, nil
}

// VaultOptions shape a raft Vault server.
type VaultOptions struct {
	// CertFile and KeyFile make the listener serve TLS; Client then
	// reaches it while waiting.
	CertFile, KeyFile string
	Client            *http.Client
	// SealHCL is a seal stanza (transit), and Env what it needs
	// (VAULT_TRANSIT_SEAL_TOKEN), passed to the server alone.
	SealHCL string
	Env     []string
	// RaftHCL is added to the storage "raft" stanza (retry_join, to make
	// a node join another's cluster).
	RaftHCL string
}

// VaultRaft starts a Vault server with integrated storage (raft) in dir on
// free loopback ports, and waits until it answers; it is uninitialised.
// It returns the process and the API's base URL.
func VaultRaft(ctx context.Context, bin, dir, name string, o VaultOptions) (*Proc, string, error) {
	ports, err := FreePorts(2)
	if err != nil {
		return nil, "", err
	}
	raft := filepath.Join(dir, "raft")
	if err := os.MkdirAll(raft, 0o700); err != nil {
		return nil, "", err
	}
	scheme, tls := "http", "tls_disable = true"
	if o.CertFile != "" {
		scheme, tls = "https", fmt.Sprintf("tls_cert_file = %q\n  tls_key_file = %q", o.CertFile, o.KeyFile)
	}
	api := fmt.Sprintf("%s://127.0.0.1:%d", scheme, ports[0])
	// performance_multiplier 1: a one-node cluster elects itself in about
	// a second instead of Vault's default (tuned for WANs) of several.
	conf := fmt.Sprintf(`storage "raft" {
  path    = %q
  node_id = %q
  performance_multiplier = 1
  %s
}
listener "tcp" {
  address = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  %s
}
api_addr      = %q
cluster_addr  = "https://127.0.0.1:%d"
disable_mlock = true
ui            = false
log_level     = "warn"
%s
`, raft, name, o.RaftHCL, ports[0], ports[1], tls, api, ports[1], o.SealHCL)
	path := filepath.Join(dir, name+".hcl")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, "", err
	}
	// HOME is the server's folder, so nothing writes ~/.vault-token.
	env := ServerEnv(append([]string{"HOME=" + dir}, o.Env...)...)
	p, err := StartProc(name, dir, env, bin, "server", "-config", path)
	if err != nil {
		return nil, "", err
	}
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	answers := func(r *http.Response) bool { return r.StatusCode != 0 }
	if err := WaitHTTPWith(ctx, client, p, api+"/v1/sys/health", 30*time.Second, answers); err != nil {
		p.Stop(5 * time.Second)
		return nil, "", err
	}
	return p, api, nil
}
