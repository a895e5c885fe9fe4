package harness

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/plugin/scratch"
)

// Nomad is a dev agent (server and client) with raw_exec, wired to the
// harness Consul and to Vault through workload identity.
type Nomad struct {
	Proc    *scratch.Proc
	Addr    string
	DataDir string

	clientOnce sync.Once
	client     *nomad.Client
	clientErr  error
}

// URL is the HTTP API base URL.
func (n *Nomad) URL() string { return "http://" + n.Addr }

// StartNomad starts the agent with nomad/dev/agent.hcl plus a generated
// config holding the ports and the Consul and Vault addresses.
func StartNomad(ctx context.Context, dir, consulAddr, vaultURL string) (*Nomad, error) {
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
	gen := fmt.Sprintf(`
data_dir = %q
name     = "harness"
ports {
  http = %d
  rpc  = %d
  serf = %d
}
`, data, ports[0], ports[1], ports[2])
	if consulAddr != "" {
		gen += fmt.Sprintf("consul {\n  address = %q\n}\n", consulAddr)
	}
	if vaultURL != "" {
		gen += fmt.Sprintf(`vault {
  enabled = true
  address = %q
  default_identity {
    aud = ["vault.io"]
    ttl = "1h"
  }
}
`, vaultURL)
	}
	genPath := filepath.Join(d, "harness.hcl")
	if err := os.WriteFile(genPath, []byte(gen), 0o644); err != nil {
		return nil, err
	}
	static := filepath.Join(RepoRoot(), "nomad", "dev", "agent.hcl")
	p, err := scratch.StartProc("nomad", d, scratch.ServerEnv(), bin, "agent", "-dev", "-config", static, "-config", genPath)
	if err != nil {
		return nil, err
	}
	n := &Nomad{Proc: p, Addr: fmt.Sprintf("127.0.0.1:%d", ports[0]), DataDir: data}
	if err := n.waitReady(ctx); err != nil {
		p.Stop(10 * time.Second)
		return nil, err
	}
	return n, nil
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

// Client returns the API client for the agent: one, shared, so tests that
// poll do not open a connection pool per call (Nomad refuses more than 100
// connections from one address, with 429).
func (n *Nomad) Client() (*nomad.Client, error) {
	n.clientOnce.Do(func() {
		cfg := nomad.DefaultConfig()
		cfg.Address = n.URL()
		cfg.Region, cfg.Namespace, cfg.SecretID = "", "", ""
		n.client, n.clientErr = nomad.NewClient(cfg)
	})
	return n.client, n.clientErr
}

// Stop ends the agent and the tasks it started. A Nomad client keeps its
// allocations' secrets/ and private/ tmpfs mounts across a shutdown (it
// expects to restore them), which would leave the temp dir undeletable; the
// harness unmounts them.
func (n *Nomad) Stop() {
	if n == nil {
		return
	}
	n.Proc.Stop(20 * time.Second)
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
	c, err := n.Client()
	if err != nil {
		return nil, err
	}
	stubs, _, err := c.Jobs().PrefixList(jobID + "/periodic-")
	if err != nil {
		return nil, fmt.Errorf("harness: list children of %s: %w", jobID, err)
	}
	seen := map[string]bool{}
	for _, s := range stubs {
		seen[s.ID] = true
	}
	for attempt := 0; ; attempt++ {
		evalID, _, err := c.Jobs().PeriodicForce(jobID, nil)
		if err != nil {
			return nil, fmt.Errorf("harness: force %s: %w", jobID, err)
		}
		ev, _, err := c.Evaluations().Info(evalID, nil)
		if err != nil {
			return nil, fmt.Errorf("harness: eval %s: %w", evalID, err)
		}
		if !seen[ev.JobID] {
			return n.WaitJob(ctx, ev.JobID, timeout)
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
	c, err := n.Client()
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		allocs, _, err := c.Jobs().Allocations(jobID, true, nil)
		if err == nil {
			for _, a := range allocs {
				if a.ClientStatus == "complete" || a.ClientStatus == "failed" || a.ClientStatus == "lost" {
					full, _, err := c.Allocations().Info(a.ID, nil)
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
