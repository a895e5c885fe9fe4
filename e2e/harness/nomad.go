package harness

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	nomad "github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/plugin/scratch"
)

// Nomad is a dev agent (server and client) with raw_exec, wired to the
// harness Consul and to Vault through workload identity. With Security it
// has ACLs on (the harness holds the bootstrap token) and mutual TLS on
// HTTP and RPC.
type Nomad struct {
	Proc    *scratch.Proc
	Addr    string
	DataDir string
	Sec     *Security
	// HostVolumeDir is the folder of the client's host volume HostVolume.
	HostVolumeDir string
	// Management is the bootstrap token ("" in the open lab).
	Management string
	// Killed counts the processes Stop had to kill after the agent
	// stopped: tasks that stopping the jobs did not end.
	Killed int

	clientOnce sync.Once
	client     *nomad.Client
	clientErr  error
}

// URL is the HTTP API base URL.
func (n *Nomad) URL() string { return n.Sec.scheme() + "://" + n.Addr }

// StartNomad starts the agent with nomad/dev/agent.hcl plus a generated
// config holding the ports, the Consul and Vault addresses, and with
// Security the ACL, TLS and workload identity settings.
func StartNomad(ctx context.Context, dir string, c *Consul, v *Vault, sec *Security, docker *Docker) (*Nomad, error) {
	bin, err := Tool("nomad")
	if err != nil {
		return nil, err
	}
	ports, err := scratch.FreePorts(3)
	if err != nil {
		return nil, err
	}
	d := filepath.Join(dir, "nomad")
	data := filepath.Join(d, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	// A server with raft on disk, as in production: a -dev agent keeps
	// raft in memory and cannot take a snapshot. (Outside dev mode the
	// client retries its registration every 15 s; when it first tries
	// before the server has elected itself, the agent is ready some 20 s
	// later.)
	gen := fmt.Sprintf(`
data_dir = %q
name     = "harness"
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
  raft_multiplier  = 1
}
`, data, ports[0], ports[1], ports[2])
	gen += nomadWiring(c, v, sec)
	hostVolume := filepath.Join(d, "host-backups")
	if err := os.MkdirAll(hostVolume, 0o755); err != nil {
		return nil, err
	}
	gen += execWiring(hostVolume, sec) + dockerWiring(docker)
	genPath := filepath.Join(d, "harness.hcl")
	if err := os.WriteFile(genPath, []byte(gen), 0o644); err != nil {
		return nil, err
	}
	static := filepath.Join(RepoRoot(), "nomad", "dev", "agent.hcl")
	env := scratch.ServerEnv()
	if sec != nil {
		// raw_exec tasks inherit the agent's environment: vigil's S3 and
		// STS clients trust the CA through the AWS CLI's variable.
		env = append(env, "AWS_CA_BUNDLE="+sec.CA.File)
	}
	p, err := scratch.StartProc("nomad", d, env, bin, "agent", "-config", static, "-config", genPath)
	if err != nil {
		return nil, err
	}
	n := &Nomad{Proc: p, Addr: fmt.Sprintf("127.0.0.1:%d", ports[0]), DataDir: data, Sec: sec, HostVolumeDir: hostVolume}
	if err := n.bootstrap(ctx); err != nil {
		p.Stop(10 * time.Second)
		return nil, err
	}
	if err := n.waitReady(ctx); err != nil {
		p.Stop(10 * time.Second)
		return nil, err
	}
	return n, nil
}

// nomadWiring is the agent configuration that ties Nomad to Consul and
// Vault, and locks it down with sec.
func nomadWiring(c *Consul, v *Vault, sec *Security) string {
	var b strings.Builder
	if sec == nil {
		if c != nil {
			fmt.Fprintf(&b, "consul {\n  address = %q\n}\n", c.Addr)
		}
		if v != nil {
			fmt.Fprintf(&b, "vault {\n  enabled = true\n  address = %q\n  default_identity {\n    aud = [\"vault.io\"]\n    ttl = \"1h\"\n  }\n}\n", v.URL())
		}
		return b.String()
	}
	fmt.Fprintf(&b, `
acl {
  enabled = true
}
tls {
  http                   = true
  rpc                    = true
  ca_file                = %q
  cert_file              = %q
  key_file               = %q
  verify_server_hostname = true
  verify_https_client    = true
}
`, sec.CA.File, sec.Server.CertFile, sec.Server.KeyFile)
	if c != nil {
		// The agent's own token registers Nomad's services; tasks get theirs
		// from their workload identity, through the nomad-workloads auth
		// method.
		fmt.Fprintf(&b, `consul {
  address = %q
  ssl     = true
  ca_file = %q
  token   = %q
  service_identity {
    aud = ["consul.io"]
    ttl = "1h"
  }
  task_identity {
    aud = ["consul.io"]
    ttl = "1h"
  }
}
`, c.Addr, sec.CA.File, c.Management)
	}
	if v != nil {
		fmt.Fprintf(&b, `vault {
  enabled = true
  address = %q
  ca_file = %q
  default_identity {
    aud = ["vault.io"]
    ttl = "1h"
  }
}
`, v.URL(), sec.CA.File)
	}
	return b.String()
}

// HostVolume is the Nomad host volume on the harness client that local
// storages of exec and docker jobs mount.
const HostVolume = "e2e-backups"

// execWiring gives exec tasks what the secure stack's specs name by path
// (the CA and certificates: the chroot holds only what chroot_env lists,
// Nomad's defaults plus the harness's TLS folder) and the host volume
// HostVolume at path.
func execWiring(path string, sec *Security) string {
	var env strings.Builder
	dirs := []string{"/bin", "/etc", "/lib", "/lib32", "/lib64", "/run/resolvconf", "/sbin", "/usr"}
	if sec != nil {
		dirs = append(dirs, filepath.Dir(sec.CA.File))
		if d := filepath.Dir(sec.Server.CertFile); d != filepath.Dir(sec.CA.File) {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			fmt.Fprintf(&env, "    %q = %q\n", d, d)
		}
	}
	trust := ""
	if sec != nil {
		trust = fmt.Sprintf("  host_volume %q {\n    path      = %q\n    read_only = true\n  }\n", TrustVolume, sec.TrustDir)
	}
	return fmt.Sprintf(`
client {
  chroot_env {
%s  }
  host_volume %q {
    path = %q
  }
%s}
`, env.String(), HostVolume, path, trust)
}

// dockerWiring points Nomad's docker driver at the harness dockerd. Its
// images are loaded by the tests, never pulled, so Nomad must not remove
// them when a task ends.
func dockerWiring(d *Docker) string {
	if d == nil {
		return ""
	}
	return fmt.Sprintf(`
plugin "docker" {
  config {
    endpoint = %q
    gc {
      image = false
    }
  }
}
`, d.Host)
}

// bootstrap takes Nomad's ACL bootstrap token, which only the harness
// holds.
func (n *Nomad) bootstrap(ctx context.Context) error {
	if n.Sec == nil {
		return nil
	}
	c, err := n.ClientWith("")
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		tok, _, err := c.ACLTokens().Bootstrap(nil)
		if err == nil {
			n.Management = tok.SecretID
			return nil
		}
		if n.Proc.Exited() || time.Now().After(deadline) {
			return fmt.Errorf("harness: nomad acl bootstrap: %w; log tail:\n%s", err, n.Proc.LogTail(40))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// waitReady waits for a leader and a ready client node with raw_exec.
func (n *Nomad) waitReady(ctx context.Context) error {
	c, err := n.Client()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		if n.Proc.Exited() {
			return fmt.Errorf("harness: nomad exited; log tail:\n%s", n.Proc.LogTail(40))
		}
		nodes, _, err := c.Nodes().List(nil)
		if err == nil && len(nodes) > 0 {
			node := nodes[0]
			if node.Status == "ready" && node.Drivers["raw_exec"] != nil && node.Drivers["raw_exec"].Healthy {
				return nil
			}
			last = "node " + node.Status
		} else if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return fmt.Errorf("harness: nomad not ready (%s); log tail:\n%s", last, n.Proc.LogTail(40))
}

// Client returns the management API client for the agent: one, shared, so
// tests that poll do not open a connection pool per call (Nomad refuses
// more than 100 connections from one address, with 429).
func (n *Nomad) Client() (*nomad.Client, error) {
	n.clientOnce.Do(func() { n.client, n.clientErr = n.ClientWith(n.Management) })
	return n.client, n.clientErr
}

// ClientWith returns a new API client with the given token.
func (n *Nomad) ClientWith(token string) (*nomad.Client, error) {
	cfg := nomad.DefaultConfig()
	cfg.Address = n.URL()
	cfg.Region, cfg.Namespace, cfg.SecretID = "", "", token
	cfg.TLSConfig = &nomad.TLSConfig{}
	if n.Sec != nil {
		cfg.TLSConfig = &nomad.TLSConfig{CACert: n.Sec.CA.File, ClientCert: n.Sec.Admin.CertFile, ClientKey: n.Sec.Admin.KeyFile}
	}
	return nomad.NewClient(cfg)
}

// PublicKeys are the keys Nomad signs workload identities with, as PEM,
// from its JWKS endpoint: what Consul's and Vault's JWT auth methods check
// the identities with when they cannot fetch the JWKS themselves (Nomad
// asks every HTTPS client for a certificate).
func (n *Nomad) PublicKeys(ctx context.Context) ([]string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.URL()+"/.well-known/jwks.json", nil)
	resp, err := n.Sec.HTTPClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("harness: nomad jwks: %w", err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, fmt.Errorf("harness: nomad jwks: %w", err)
	}
	var out []string
	for _, k := range set.Keys {
		der, err := x509.MarshalPKIXPublicKey(k.Key)
		if err != nil {
			return nil, fmt.Errorf("harness: nomad jwks key %s: %w", k.KeyID, err)
		}
		out = append(out, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("harness: nomad jwks: no key")
	}
	return out, nil
}

// Stop ends the agent and the tasks it started. A Nomad client keeps its
// allocations' secrets/ and private/ tmpfs mounts across a shutdown (it
// expects to restore them), which would leave the temp dir undeletable; the
// harness unmounts them.
func (n *Nomad) Stop() {
	if n == nil {
		return
	}
	if n.Proc != nil && !n.Proc.Exited() {
		n.stopJobs(30 * time.Second)
	}
	n.Proc.Stop(20 * time.Second)
	// What a task left in spite of that (an agent killed before its
	// tasks stopped) is ended here, never left running.
	n.killLeftovers()
	for _, m := range mountsUnder(n.DataDir) {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
}

// mountsUnder lists the mount points below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Field 5 is the mount point, with spaces escaped as \040.
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append([]string{fields[4]}, out...)
		}
	}
	return out
}

// ForceRun forces a periodic launch and waits until the child job's
// allocation reaches a terminal state. It returns that allocation.
//
// Nomad names a child after its launch second, so a force within the same
// second as the previous one re-registers that finished child and runs
// nothing. ForceRun retries in the next second until it gets a new child.
func (n *Nomad) ForceRun(ctx context.Context, jobID string, timeout time.Duration) (*nomad.Allocation, error) {
	return n.ForceRunIn(ctx, "", jobID, timeout)
}

// ForceRunIn is ForceRun in a namespace ("" is the default).
func (n *Nomad) ForceRunIn(ctx context.Context, namespace, jobID string, timeout time.Duration) (*nomad.Allocation, error) {
	c, err := n.Client()
	if err != nil {
		return nil, err
	}
	q, w := &nomad.QueryOptions{Namespace: namespace}, &nomad.WriteOptions{Namespace: namespace}
	stubs, _, err := c.Jobs().List(&nomad.QueryOptions{Namespace: namespace, Prefix: jobID + "/periodic-"})
	if err != nil {
		return nil, fmt.Errorf("harness: list children of %s: %w", jobID, err)
	}
	seen := map[string]bool{}
	for _, s := range stubs {
		seen[s.ID] = true
	}
	for attempt := 0; ; attempt++ {
		evalID, _, err := c.Jobs().PeriodicForce(jobID, w)
		if err != nil {
			return nil, fmt.Errorf("harness: force %s: %w", jobID, err)
		}
		ev, _, err := c.Evaluations().Info(evalID, q)
		if err != nil {
			return nil, fmt.Errorf("harness: eval %s: %w", evalID, err)
		}
		if !seen[ev.JobID] {
			return n.waitJob(ctx, q, ev.JobID, timeout)
		}
		if attempt == 5 {
			return nil, fmt.Errorf("harness: force %s: Nomad keeps reusing child %s", jobID, ev.JobID)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 50*time.Millisecond))):
		}
	}
}

// WaitJob waits for the first allocation of jobID to finish.
func (n *Nomad) WaitJob(ctx context.Context, jobID string, timeout time.Duration) (*nomad.Allocation, error) {
	return n.waitJob(ctx, nil, jobID, timeout)
}

func (n *Nomad) waitJob(ctx context.Context, q *nomad.QueryOptions, jobID string, timeout time.Duration) (*nomad.Allocation, error) {
	c, err := n.Client()
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		allocs, _, err := c.Jobs().Allocations(jobID, true, q)
		if err == nil {
			for _, a := range allocs {
				if a.ClientStatus == "complete" || a.ClientStatus == "failed" || a.ClientStatus == "lost" {
					full, _, err := c.Allocations().Info(a.ID, q)
					return full, err
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("harness: job %s did not finish within %s", jobID, timeout)
}

// TaskLog reads a finished task's stdout or stderr from the alloc dir.
func (n *Nomad) TaskLog(allocID, task, stream string) string {
	b, err := os.ReadFile(filepath.Join(n.DataDir, "alloc", allocID, "alloc", "logs", task+"."+stream+".0"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Explain summarises an allocation's task events and logs, for failures.
func (n *Nomad) Explain(a *nomad.Allocation) string {
	var sb []byte
	for task, st := range a.TaskStates {
		sb = fmt.Appendf(sb, "task %s: %s failed=%v\n", task, st.State, st.Failed)
		for _, e := range st.Events {
			sb = fmt.Appendf(sb, "  %s: %s %s\n", e.Type, e.DisplayMessage, e.Details["driver_error"])
		}
		sb = fmt.Appendf(sb, "stdout:\n%s\nstderr:\n%s\n", n.TaskLog(a.ID, task, "stdout"), n.TaskLog(a.ID, task, "stderr"))
	}
	return string(sb)
}

// Token creates a client token carrying one ACL policy.
func (n *Nomad) Token(policy, name string) (string, error) {
	c, err := n.Client()
	if err != nil {
		return "", err
	}
	t, _, err := c.ACLTokens().Create(&nomad.ACLToken{Name: name, Type: "client", Policies: []string{policy}}, nil)
	if err != nil {
		return "", fmt.Errorf("harness: nomad token: %w", err)
	}
	return t.SecretID, nil
}
