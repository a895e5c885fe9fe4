//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
)

// TestOpenLabSmoke keeps the first try working: a Consul agent in -dev
// mode and an etcd without TLS or auth, as people start them on a laptop,
// no Vault, backups to a folder. Every other test runs on the secure stack.
func TestOpenLabSmoke(t *testing.T) {
	needStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	c, err := harness.StartConsul(ctx, dir, "consul-dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	e, err := harness.StartEtcd(ctx, dir, "etcd-open", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	if !strings.HasPrefix(c.URL(), "http://") || !strings.HasPrefix(e.Endpoint, "http://") {
		t.Fatalf("not an open lab: %s %s", c.URL(), e.Endpoint)
	}
	cc, _ := c.Client()
	cc.KV().Put(kvPair("app/a", "1"), nil)
	ec, _ := e.Client()
	ec.Put(ctx, "app/a", "1")
	ec.Close()

	specs := t.TempDir()
	backups := filepath.Join(t.TempDir(), "backups")
	spec := fmt.Sprintf(`
storage "local" "disk" {
  path = %q
}

backup "consul_kv" "lab-kv" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  consul {
    prefix = "app/"
  }
}

backup "consul_snapshot" "lab-snap" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
}

backup "etcd" "lab-etcd" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  etcd {
    endpoints = [%q]
  }
}
`, backups, e.Endpoint)
	if err := os.WriteFile(filepath.Join(specs, "lab.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	// Only what a laptop has: CONSUL_HTTP_ADDR of the -dev agent.
	env := append(harness.CleanEnv(), "CONSUL_HTTP_ADDR="+hostPort(c.URL()))
	for _, b := range []string{"lab-kv", "lab-snap", "lab-etcd"} {
		if r := vigilEnv(t, env, "run", "-config", specs, "-backup", b); r.code != 0 {
			t.Fatalf("%s on the open lab: %s", b, r)
		}
	}
	r := vigilEnv(t, env, "status", "-config", specs)
	if r.code != 0 {
		t.Fatalf("status: %s", r)
	}
	for _, b := range []string{"lab-kv", "lab-snap", "lab-etcd"} {
		if !strings.Contains(r.stdout, b) {
			t.Errorf("status does not show %s: %s", b, r)
		}
		if ms, _ := filepath.Glob(filepath.Join(backups, b, "*.manifest.json")); len(ms) != 1 {
			t.Errorf("%s: want one manifest in the folder, found %v", b, ms)
		}
	}
}
