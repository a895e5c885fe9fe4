//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/e2e/harness"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func toolCmd(t *testing.T, name string, env []string, args ...string) (string, error) {
	t.Helper()
	bin, err := harness.Tool(name)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func freshConsul(t *testing.T, ctx context.Context, name string) *harness.Consul {
	t.Helper()
	c, err := harness.StartConsul(ctx, t.TempDir(), name, stack.Sec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// consulEnv is the consul CLI's environment for c, as its operator.
func consulEnv(c *harness.Consul) []string {
	return append(stack.Env(harness.Tokens{Consul: c.Management}), "CONSUL_HTTP_ADDR="+c.URL())
}

// restoreAs runs vigil restore as the operator of the Consul restored
// into: restores write, and take the operator's own token from the
// environment, never the backup's read-only one.
func restoreAs(t *testing.T, into *harness.Consul, args ...string) result {
	t.Helper()
	tok := tokensFor(args)
	tok.Consul = into.Management
	return vigilEnv(t, stack.Env(tok), args...)
}

func kvMap(t *testing.T, c *harness.Consul, prefix string) map[string]string {
	t.Helper()
	cc, _ := c.Client()
	pairs, _, err := cc.KV().List(prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range pairs {
		out[p.Key] = string(p.Value) + "|" + string(rune('0'+p.Flags%10))
	}
	return out
}

// TestConsulKVExportIsConsulCLIFormat: the stored export is byte for byte
// what `consul kv export` prints, and `consul kv import` restores it into a
// fresh agent with the same keys, values and flags.
func TestConsulKVExportIsConsulCLIFormat(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 5*time.Minute)
	seedData(t, ctx)
	applyExamples(t)
	forceBackup(t, ctx, "consul-kv-services")
	m, data := latestManifest(t, ctx, examplesPrefix, "consul-kv-services")
	export := decompress(t, m, data)

	cli, err := toolCmd(t, "consul", consulEnv(stack.Consul), "kv", "export", "service/")
	if err != nil {
		t.Fatalf("consul kv export: %v\n%s", err, cli)
	}
	if !bytes.Equal(export, []byte(cli)) {
		t.Fatalf("export differs from consul kv export:\nvigil:\n%s\nconsul:\n%s", export, cli)
	}

	fresh := freshConsul(t, ctx, "consul-import")
	file := filepath.Join(t.TempDir(), "export.json")
	os.WriteFile(file, export, 0o644)
	if out, err := toolCmd(t, "consul", consulEnv(fresh), "kv", "import", "@"+file); err != nil {
		t.Fatalf("consul kv import: %v\n%s", err, out)
	}
	want, got := kvMap(t, stack.Consul, "service/"), kvMap(t, fresh, "")
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("imported %d keys, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("key %s: got %q want %q", k, got[k], v)
		}
	}
}

// TestConsulSnapshotRestore: vigil restore puts the snapshot into a fresh
// agent, which then holds the source's KV data.
func TestConsulSnapshotRestore(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 5*time.Minute)
	seedData(t, ctx)
	dir := applyExamples(t)
	forceBackup(t, ctx, "consul-prod")
	fresh := freshConsul(t, ctx, "consul-snap-restore")

	args := append([]string{"restore", "-backup", "consul-prod", "-latest", "-to", fresh.URL(), "-config", dir}, harnessVars()...)
	// Replacing a cluster's state is confirmed first; without a terminal
	// and without -auto-approve nothing happens.
	if r := restoreAs(t, fresh, args...); r.code != 1 || !strings.Contains(r.stdout, "replaces the whole state") || !strings.Contains(r.stderr, "cancelled") {
		t.Fatalf("restore without -auto-approve: %s", r)
	}
	if got := kvMap(t, fresh, "service/"); len(got) != 0 {
		t.Fatalf("a cancelled restore changed the cluster: %d keys", len(got))
	}
	args = append([]string{"restore", "-auto-approve"}, args[1:]...)
	// The example is encrypted: its stored bytes carry a CRC32C, and the
	// segments their AEAD tags.
	if r := restoreAs(t, fresh, args...); r.code != 0 || !strings.Contains(r.stdout, "crc32c and every encrypted segment verified") {
		t.Fatalf("restore: %s", r)
	}
	want, got := kvMap(t, stack.Consul, "service/"), kvMap(t, fresh, "service/")
	for k, v := range want {
		if got[k] != v {
			t.Errorf("after restore, key %s = %q, want %q", k, got[k], v)
		}
	}
}

// TestConsulKVRestoreModes: merge keeps foreign keys under the prefix;
// replace deletes them.
func TestConsulKVRestoreModes(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 5*time.Minute)
	seedData(t, ctx)
	dir := applyExamples(t)
	forceBackup(t, ctx, "consul-kv-services")
	fresh := freshConsul(t, ctx, "consul-kv-restore")
	fc, _ := fresh.Client()
	fc.KV().Put(&consul.KVPair{Key: "service/stray", Value: []byte("x")}, nil)
	restore := func(mode string) {
		args := append([]string{"restore", "-backup", "consul-kv-services", "-to", fresh.URL(), "-mode", mode, "-config", dir}, harnessVars()...)
		if r := restoreAs(t, fresh, args...); r.code != 0 {
			t.Fatalf("restore -mode %s: %s", mode, r)
		}
	}
	restore("merge")
	if p, _, _ := fc.KV().Get("service/stray", nil); p == nil {
		t.Error("merge deleted a key the backup lacks")
	}
	if p, _, _ := fc.KV().Get("service/web/config", nil); p == nil {
		t.Error("merge did not restore service/web/config")
	}
	restore("replace")
	if p, _, _ := fc.KV().Get("service/stray", nil); p != nil {
		t.Error("replace kept a key the backup lacks")
	}
}

// entityToken is a Vault token with an entity and the policy vigil setup
// wrote for the test's configuration (specDir's), as a run outside Nomad
// holds it.
func entityToken(t *testing.T, _ context.Context) string {
	t.Helper()
	return entityTokenFor(t, configID(t))
}

// entityTokenFor is entityToken for configuration id. Called before the
// spec is set up (its policies do not exist yet), it returns "": vigil()
// then runs with the token setupSpec minted for the spec's folder, an
// entity token with the same policies.
func entityTokenFor(t *testing.T, id string) string {
	t.Helper()
	policies := configVaultPolicies(t, id)
	if len(policies) == 0 {
		return ""
	}
	tok, err := stack.Vault.EntityToken(context.Background(), "vigil-e2e-"+id, time.Hour, policies...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// configVaultPolicies are the Vault policies vigil setup wrote for the
// jobs of configuration id: an operator who may run any of them by hand.
func configVaultPolicies(t *testing.T, id string) []string {
	t.Helper()
	vc, _ := stack.Vault.Root()
	names, err := vc.Sys().ListPolicies()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, "vigil-"+id+"-backup-") || strings.HasPrefix(n, "vigil-"+id+"-drill-") {
			out = append(out, n)
		}
	}
	return out
}

func clientv3WithPrefix() []clientv3.OpOption { return []clientv3.OpOption{clientv3.WithPrefix()} }

func kvPair(k, v string) *consul.KVPair { return &consul.KVPair{Key: k, Value: []byte(v)} }

// TestRestoreStreamsInOnePass: a consul_snapshot stored uncompressed is
// restored in one pass (Consul takes a snapshot whole before applying
// it), and a stored object with one byte flipped restores nothing: vigil
// withholds its last bytes, names the checksum, and the fresh agent holds
// none of the snapshot's keys. The good object then restores.
func TestRestoreStreamsInOnePass(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	tok := entityToken(t, ctx)
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "consul_snapshot" "onepass" {
  schedule    = "0 * * * *"
  storage     = storage.s3.sts
  compression = "none"
  %s
}`, consulSource(t, stack.Consul.URL(), "")))
	cc, _ := stack.Consul.Client()
	if _, err := cc.KV().Put(&consul.KVPair{Key: "onepass/marker", Value: []byte(configID(t))}, nil); err != nil {
		t.Fatal(err)
	}
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "onepass"); r.code != 0 {
		t.Fatalf("backup: %s", r)
	}
	m, data := latestManifest(t, ctx, prefix, "onepass")
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 0x01
	putManifestBytes(t, ctx, prefix+m.Object, bad)

	fresh := freshConsul(t, ctx, "consul-onepass")
	args := []string{"restore", "-auto-approve", "-config", dir, "-backup", "onepass", "-id", m.ID, "-to", fresh.URL()}
	r := restoreAs(t, fresh, args...)
	if r.code != 1 || !strings.Contains(r.stderr, "restore refused") || !strings.Contains(r.stderr, "does not match the manifest") || !strings.Contains(r.stderr, "restored none of it") {
		t.Fatalf("restore of a corrupt object: %s", r)
	}
	if got := kvMap(t, fresh, "onepass/"); len(got) != 0 {
		t.Fatalf("a corrupt object changed the cluster: %v", got)
	}

	putManifestBytes(t, ctx, prefix+m.Object, data)
	if r := restoreAs(t, fresh, args...); r.code != 0 || !strings.Contains(r.stdout, "sha256 verified") {
		t.Fatalf("restore of the good object: %s", r)
	}
	if got := kvMap(t, fresh, "onepass/"); got["onepass/marker"] != configID(t)+"|0" {
		t.Fatalf("after restore: %v", got)
	}
}
