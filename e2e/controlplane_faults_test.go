//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/plugin/scratch"
	"github.com/vigil-backup/vigil/tasks/record"
)

// TestControlPlaneFaults runs the fault suite of the other targets on
// nomad_snapshot and vault_raft, each against a server of its own behind
// a throttling proxy (so a snapshot takes a few seconds): 5 concurrent
// runs make exactly one backup; a run killed with -9 mid-stream leaves no
// manifest and the next run is green once the lock's session is gone; a
// server stopped mid-stream (the proxy dropping what it had not sent)
// fails the run with no manifest.
func TestControlPlaneFaults(t *testing.T) {
	needStack(t)
	for _, kind := range []string{"nomad", "vault"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			controlPlaneFaults(t, kind)
		})
	}
}

func controlPlaneFaults(t *testing.T, kind string) {
	ctx := testContext(t, 8*time.Minute)
	dir := t.TempDir()
	var stop func()
	var target, vaultToken string
	switch kind {
	case "nomad":
		p, addr, err := scratch.NomadServer(ctx, tool("nomad"), dir, "nomad-faults", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		stop, target = func() { p.Kill() }, addr
		defer p.Stop(5 * time.Second)
		c, _ := nomad.NewClient(&nomad.Config{Address: "http://" + addr, Region: "global"})
		c.SetSecretID("")
		for i := 0; i < 20; i++ {
			v := &nomad.Variable{Path: fmt.Sprintf("faults/v%02d", i), Items: nomad.VariableItems{"pad": strings.Repeat("x", 2000)}}
			// A new server's keyring is ready a moment after its leader.
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				_, _, err := c.Variables().Create(v, nil)
				if err == nil {
					break
				}
				if !strings.Contains(err.Error(), "keyring") || time.Now().After(deadline) {
					t.Fatal(err)
				}
			}
		}
	case "vault":
		p, api, err := scratch.VaultRaft(ctx, tool("vault"), dir, "vault-faults", scratch.VaultOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stop, target = func() { p.Kill() }, strings.TrimPrefix(api, "http://")
		defer p.Stop(5 * time.Second)
		c, _ := vault.NewClient(&vault.Config{Address: api})
		c.ClearToken()
		init, err := plugin.InitVault(ctx, c, false)
		if err != nil {
			t.Fatal(err)
		}
		vaultToken = init.RootToken
		c.SetToken(vaultToken)
		if err := c.Sys().Mount("kv", &vault.MountInput{Type: "kv"}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			if _, err := c.Logical().Write(fmt.Sprintf("kv/s%02d", i), map[string]any{"pad": strings.Repeat("x", 2000)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	proxy, err := harness.StartTCPProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	name := "faults-" + kind
	source := fmt.Sprintf("nomad {\n    address = \"http://%s\"\n  }", proxy.Addr)
	typ := "nomad_snapshot"
	if kind == "vault" {
		source, typ = fmt.Sprintf("vault {\n    address = \"http://%s\"\n  }", proxy.Addr), "vault_raft"
	}
	prefix := fmt.Sprintf("e2e/%s-%d/", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	specs := t.TempDir()
	writeSpec(t, specs, fmt.Sprintf(`
config_id = %q

consul {
  address = %q
  %s
}

storage "s3" "env" {
  bucket     = %q
  prefix     = %q
  endpoint   = %q
  path_style = true
  credentials {
    environment = true
  }
}

backup %q %q {
  schedule = "0 * * * *"
  storage  = storage.s3.env
  %s
  lock {
    ttl = "10s"
  }
}`, configID(t), stack.Consul.URL(), caFile(), harness.Bucket, prefix, stack.MinIO.Endpoint(), typ, name, source))
	setupSpec(t, specs, configID(t))
	// The store's keys come from the environment: the Vault these runs
	// read may not be the one that issues credentials.
	env := append(stack.Env(harness.Tokens{Consul: tokensFor([]string{specs}).Consul, Vault: vaultToken}),
		"AWS_ACCESS_KEY_ID="+stack.KVAccessKey, "AWS_SECRET_ACCESS_KEY="+stack.KVSecretKey)
	run := func() result { return vigilEnv(t, env, "run", "-config", specs, "-backup", name) }
	type child struct {
		cmd       *exec.Cmd
		out, errb *bytes.Buffer
		done      chan struct{}
		r         childRun
	}
	start := func() *child {
		c := &child{done: make(chan struct{})}
		c.cmd, c.out, c.errb = startVigilEnv(t, env, "run", "-config", specs, "-backup", name)
		go func() { c.r = waitVigil(c.cmd, c.out, c.errb); close(c.done) }()
		return c
	}
	// midStream waits until a quarter of a snapshot's bytes went by.
	midStream := func(c *child, from, size int64) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); proxy.Answered()-from < size/4; time.Sleep(20 * time.Millisecond) {
			select {
			case <-c.done:
				t.Fatalf("the run ended before the stream got going: %s", c.r.result)
			default:
			}
			if time.Now().After(deadline) {
				c.cmd.Process.Kill()
				t.Fatalf("the stream never got going (%d bytes)", proxy.Answered()-from)
			}
		}
	}

	first := run()
	if first.code != 0 {
		t.Fatalf("first run: %s", first)
	}
	m, _ := latestManifest(t, ctx, prefix, name)
	// A snapshot takes about 3 s from here on.
	proxy.Throttle(max(m.Size/3, 512))
	t.Logf("%s snapshot: %d bytes stored", kind, m.Size)

	// Lock contention.
	var wg sync.WaitGroup
	results := make([]result, 5)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = run() }()
	}
	wg.Wait()
	won, skipped := 0, 0
	for _, r := range results {
		switch {
		case r.code == 0 && strings.HasPrefix(r.stdout, "succeeded:"):
			won++
		case r.code == 0 && strings.HasPrefix(r.stdout, "skipped:"):
			skipped++
		default:
			t.Errorf("a concurrent run: %s", r)
		}
	}
	if won != 1 || skipped != 4 || assertManifestsWhole(t, ctx, prefix, name) != 2 {
		t.Fatalf("5 concurrent runs: %d succeeded, %d skipped", won, skipped)
	}

	// kill -9 mid-stream.
	c := start()
	midStream(c, proxy.Answered(), m.Size)
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
	if n := assertManifestsWhole(t, ctx, prefix, name); n != 2 {
		t.Fatalf("a killed run changed the backups: %d", n)
	}
	killed := time.Now()
	for {
		r := run()
		if r.code == 0 && strings.HasPrefix(r.stdout, "succeeded:") {
			break
		}
		if r.code != 0 || !strings.HasPrefix(r.stdout, "skipped:") || time.Since(killed) > 90*time.Second {
			t.Fatalf("run after the kill: %s", r)
		}
		time.Sleep(time.Second)
	}
	t.Logf("next run green %.0fs after the kill (lock TTL 10s)", time.Since(killed).Seconds())
	dead := 0
	for _, r := range history(t, name) {
		if r.Status == record.Failed && strings.Contains(r.Error, "died") {
			dead++
		}
	}
	if dead != 1 || assertManifestsWhole(t, ctx, prefix, name) != 3 {
		t.Fatalf("after the kill: %d runs marked dead", dead)
	}

	// The server stops mid-stream.
	c = start()
	midStream(c, proxy.Answered(), m.Size)
	stop()
	// The snapshot is small enough to sit whole in the proxy's and the
	// kernel's buffers; what a stopped server had not sent never arrives.
	proxy.Drop()
	<-c.done
	r := c.r.result
	if r.code != 1 || assertManifestsWhole(t, ctx, prefix, name) != 3 {
		t.Fatalf("a run whose server stopped: %s", r)
	}
	if last := lastRecord(t, name); last.Status != record.Failed {
		t.Fatalf("record: %+v", last)
	}
	t.Logf("server stopped mid-stream: %s", lastLine(r.stderr))
	os.RemoveAll(filepath.Join(dir, "data"))
}
