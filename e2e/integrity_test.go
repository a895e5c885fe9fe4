//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
)

// TestIncompleteStreamsNeverGetAManifest: each target proves its own
// stream whole. A proxy in front of the real server ends the answer early
// but cleanly (or drops a key, or cuts the connection): the run fails
// loudly, and no manifest is written.
func TestIncompleteStreamsNeverGetAManifest(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	seedData(t, ctx)
	consulProxy, err := startConsulProxy()
	if err != nil {
		t.Fatal(err)
	}
	defer consulProxy.Close()

	runWith := func(t *testing.T, typ, source string, prepare func(dir string)) (result, string, string) {
		t.Helper()
		name := strings.ToLower(strings.ReplaceAll(t.Name()[strings.LastIndex(t.Name(), "/")+1:], "_", "-"))
		dir, prefix := specDir(t, fmt.Sprintf(`
backup %q %q {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}`, typ, name, source))
		if prepare != nil {
			prepare(dir)
		}
		return vigil(t, "", "run", "-config", dir, "-backup", name), prefix, name
	}
	run := func(t *testing.T, typ, source string) (result, string, string) {
		t.Helper()
		return runWith(t, typ, source, nil)
	}
	noManifest := func(t *testing.T, prefix, name string) {
		t.Helper()
		if ms := manifests(t, ctx, prefix, name); len(ms) != 0 {
			t.Fatalf("a backup that is not whole got a manifest: %v", ms)
		}
		if last := lastRecord(t, name); last.Status != "failed" {
			t.Fatalf("record: %+v", last)
		}
	}

	t.Run("consul_snapshot_cut_cleanly", func(t *testing.T) {
		// Premise: the proxy's short answer ends without a transport error.
		consulProxy.Set(harness.ProxyRule{Method: "GET", PathPrefix: "/v1/snapshot", CutAfter: 2048})
		defer consulProxy.Set()
		cut := filepath.Join(t.TempDir(), "cut.snap")
		env := append(stack.Env(harness.Tokens{Consul: stack.Consul.Management}), "CONSUL_HTTP_ADDR="+consulProxy.URL)
		if out, err := toolCmd(t, "consul", env, "snapshot", "save", cut); err == nil {
			t.Fatalf("consul snapshot save accepted the cut answer: %s", out)
		}
		r, prefix, name := run(t, "consul_snapshot", consulSource(t, consulProxy.URL, ""))
		if r.code != 1 || !strings.Contains(r.stderr, "incomplete snapshot") {
			t.Fatalf("run on a cut snapshot: %s", r)
		}
		noManifest(t, prefix, name)
	})

	t.Run("consul_kv_key_dropped", func(t *testing.T) {
		// Well-formed JSON that lacks one key the prefix holds.
		consulProxy.Set(harness.ProxyRule{Method: "GET", PathPrefix: "/v1/kv/service/", Rewrite: func(b []byte) []byte {
			var pairs []json.RawMessage
			if json.Unmarshal(b, &pairs) != nil || len(pairs) < 2 || bytes.HasPrefix(bytes.TrimSpace(pairs[0]), []byte(`"`)) {
				return b // the ?keys listing stays whole
			}
			out, _ := json.Marshal(pairs[:len(pairs)-1])
			return out
		}})
		defer consulProxy.Set()
		r, prefix, name := run(t, "consul_kv", consulSource(t, consulProxy.URL, "service/"))
		if r.code != 1 || !strings.Contains(r.stderr, "incomplete snapshot") || !strings.Contains(r.stderr, "key listing at the same index") {
			t.Fatalf("run on an export missing a key: %s", r)
		}
		noManifest(t, prefix, name)
	})

	t.Run("consul_kv_cut_cleanly", func(t *testing.T) {
		consulProxy.Set(harness.ProxyRule{Method: "GET", PathPrefix: "/v1/kv/service/", CutAfter: 40})
		defer consulProxy.Set()
		r, prefix, name := run(t, "consul_kv", consulSource(t, consulProxy.URL, "service/"))
		if r.code != 1 || !strings.Contains(r.stderr, "incomplete snapshot") {
			t.Fatalf("run on a cut export: %s", r)
		}
		noManifest(t, prefix, name)
	})

	t.Run("etcd_connection_cut", func(t *testing.T) {
		p, err := harness.StartTCPProxy(hostPort(stack.Etcd.Endpoint))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		// Let the status calls through; cut within the snapshot stream.
		p.CutAfter(8 << 10)
		r, prefix, name := run(t, "etcd", etcdSource(t, "https://"+p.Addr))
		if r.code != 1 || !strings.Contains(r.stderr, "etcd:") {
			t.Fatalf("run on a cut etcd stream: %s", r)
		}
		noManifest(t, prefix, name)
	})

	t.Run("consul_kv_mistyped_prefix", func(t *testing.T) {
		r, prefix, name := run(t, "consul_kv", consulSource(t, stack.Consul.URL(), "servcie/"))
		if r.code != 1 || !strings.Contains(r.stderr, "the backup is empty") {
			t.Fatalf("run of an empty prefix: %s", r)
		}
		noManifest(t, prefix, name)
	})

	// The Nomad and Vault snapshots, cut cleanly by a proxy in front of
	// the real servers (Nomad asks the proxy for its client certificate).
	for _, c := range []struct{ typ, url, path string }{
		{"nomad_snapshot", stack.Nomad.URL(), "/v1/operator/snapshot"},
		{"vault_raft", stack.Vault.URL(), "/v1/sys/storage/raft/snapshot"},
	} {
		t.Run(c.typ+"_cut_cleanly", func(t *testing.T) {
			p, err := harness.StartHTTPProxy(c.url, stack.Sec.CA.ClientTLS(stack.Sec.Admin), stack.Sec.CA.ServerTLS(stack.Sec.Server))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			p.Set(harness.ProxyRule{Method: "GET", PathPrefix: c.path, CutAfter: 4096})
			source := vaultSource(p.URL)
			if c.typ == "nomad_snapshot" {
				source = nomadSource(t, p.URL)
			}
			r, prefix, name := runWith(t, c.typ, source, func(string) { grantForProxy(t, c.typ) })
			if r.code != 1 || !strings.Contains(r.stderr, "incomplete snapshot") || p.Hits("GET "+c.path) == 0 {
				t.Fatalf("run on a cut snapshot: %s", r)
			}
			noManifest(t, prefix, name)
		})
	}

	t.Run("consul_kv_allow_empty", func(t *testing.T) {
		r, prefix, name := run(t, "consul_kv", "allow_empty = true\n  "+consulSource(t, stack.Consul.URL(), "servcie/"))
		if r.code != 0 {
			t.Fatalf("allow_empty: %s", r)
		}
		if ms := manifests(t, ctx, prefix, name); len(ms) != 1 {
			t.Fatalf("allow_empty: manifests %v", ms)
		}
	})
}

// TestEtcdSnapshotFromLeader: with followers listed first, the status
// calls and the snapshot go to the leader alone, and the manifest names it.
func TestEtcdSnapshotFromLeader(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 3*time.Minute)
	cluster, err := harness.StartEtcdCluster(ctx, t.TempDir(), "trio", 3, stack.Sec)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	leader, id, err := cluster.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := leader.Client()
	if _, err := c.Put(ctx, "/trio/key", "v"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	var endpoints []string
	for _, m := range cluster.Members {
		if m != leader {
			endpoints = append(endpoints, m.Endpoint)
		}
	}
	endpoints = append(endpoints, leader.Endpoint)
	name := "etcd-leader"
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "etcd" %q {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}`, name, etcdSource(t, endpoints...)))
	if r := vigil(t, entityToken(t, ctx), "run", "-config", dir, "-backup", name); r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	m, _ := latestManifest(t, ctx, prefix, name)
	if m.Source["member_id"] != fmt.Sprintf("%x", id) || m.Source["endpoint"] != leader.Endpoint || m.Source["keys"] != "1" {
		t.Fatalf("manifest source %v; the leader is %x at %s", m.Source, id, leader.Endpoint)
	}
}

// startConsulProxy starts an HTTPS proxy in front of the harness Consul,
// serving the stack's own certificate, so vigil reaches it as it reaches
// Consul.
func startConsulProxy() (*harness.HTTPProxy, error) {
	return harness.StartHTTPProxy(stack.Consul.URL(), stack.Sec.CA.ClientTLS(nil), stack.Sec.CA.ServerTLS(stack.Sec.Server))
}

// hostPort is a URL's host:port.
func hostPort(u string) string {
	_, hp, _ := strings.Cut(u, "://")
	return hp
}
