//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/plugin/scratch"
	"github.com/vigil-backup/vigil/tasks/record"
)

// nomadSource is the nomad block of a nomad_snapshot backup of address
// (the harness Nomad, or a proxy in front of it): the CA, the client
// certificate Nomad's mutual TLS asks for, and a token from Vault's Nomad
// engine under the test configuration's role.
func nomadSource(t *testing.T, address string) string {
	return fmt.Sprintf(`nomad {
    address   = %q
    ca_file   = %q
    cert_file = %q
    key_file  = %q
    credentials {
      vault_nomad_path = "nomad/creds/%s"
    }
  }`, address, stack.Sec.CA.File, stack.Sec.Admin.CertFile, stack.Sec.Admin.KeyFile, configID(t))
}

// vaultSource is the vault block of a vault_raft backup of address.
func vaultSource(address string) string {
	return fmt.Sprintf("vault {\n    address = %q\n    %s\n  }", address, caFile())
}

// grantForProxy writes what vigil setup prints, but does not write, for a
// backup whose cluster it sees at another address (a proxy in front of the
// harness's): the Nomad policy of the snapshot token, or the raft snapshot
// rule in the test configuration's Vault policy.
func grantForProxy(t *testing.T, typ string) {
	t.Helper()
	switch typ {
	case "nomad_snapshot":
		nc, _ := stack.Nomad.Client()
		if _, err := nc.ACLPolicies().Upsert(&nomad.ACLPolicy{Name: "vigil-" + configID(t) + "-snapshot", Rules: `operator { capabilities = ["snapshot-save"] }`}, nil); err != nil {
			t.Fatal(err)
		}
	case "vault_raft":
		// The spec's one backup job's policy (setup left the raft rule
		// out: its Vault is the proxy, not the one runs log in to).
		vc, _ := stack.Vault.Root()
		policies := configVaultPolicies(t, configID(t))
		if len(policies) != 1 {
			t.Fatalf("policies of the proxy spec: %v", policies)
		}
		name := policies[0]
		cur, _ := vc.Sys().GetPolicy(name)
		if err := vc.Sys().PutPolicy(name, cur+"\npath \"sys/storage/raft/snapshot\" { capabilities = [\"read\"] }\n"); err != nil {
			t.Fatal(err)
		}
	}
}

// startNomadProxy starts an HTTPS proxy in front of the harness Nomad,
// which asks the proxy for the client certificate.
func startNomadProxy() (*harness.HTTPProxy, error) {
	return harness.StartHTTPProxy(stack.Nomad.URL(), stack.Sec.CA.ClientTLS(stack.Sec.Admin), stack.Sec.CA.ServerTLS(stack.Sec.Server))
}

// snapshotFile writes a backup's object, decompressed, to a file.
func snapshotFile(t *testing.T, ctx context.Context, prefix, name string) (string, string) {
	t.Helper()
	m, data := latestManifest(t, ctx, prefix, name)
	path := filepath.Join(t.TempDir(), name+".snap")
	if err := os.WriteFile(path, decompress(t, m, data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, prefix + m.Object
}

// flipByte changes one byte in the middle of a stored object.
func flipByte(t *testing.T, ctx context.Context, key string) {
	t.Helper()
	data := getObject(t, ctx, key)
	data[len(data)/2] ^= 0x01
	if _, err := stack.MinIO.RootClient().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(stack.MinIO.Bucket), Key: aws.String(key), Body: bytes.NewReader(data),
	}); err != nil {
		t.Fatal(err)
	}
}

// forceOK forces a job through Nomad and returns its task's stderr.
func forceOK(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	alloc, err := stack.Nomad.ForceRun(ctx, id, 4*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if alloc.ClientStatus != "complete" {
		t.Fatalf("%s: allocation %s %s\n%s", id, alloc.ID, alloc.ClientStatus, stack.Nomad.Explain(alloc))
	}
	return stack.Nomad.TaskLog(alloc.ID, "vigil", "stderr")
}

// TestNomadSnapshotThroughNomad: a forced Nomad job backs up the cluster
// with a token from Vault's Nomad engine (revoked at the run's end); the
// object passes `nomad operator snapshot inspect`; a restore into a fresh
// server brings back a job and a variable written before the backup; the
// scheduled drill's job passes; and a drill of the object with one byte
// flipped fails on the checksum before any restore.
func TestNomadSnapshotThroughNomad(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 8*time.Minute)
	nc, _ := stack.Nomad.Client()
	marker := nomad.NewBatchJob("cp-marker", "cp-marker", "global", 50)
	marker.Datacenters = []string{"dc1"}
	marker.ParameterizedJob = &nomad.ParameterizedJobConfig{} // never runs until dispatched
	marker.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(nomad.NewTask("t", "raw_exec").SetConfig("command", "/bin/true")))
	if _, _, err := nc.Jobs().Register(marker, nil); err != nil {
		t.Fatal(err)
	}
	defer nc.Jobs().Deregister("cp-marker", true, nil)
	if _, _, err := nc.Variables().Create(&nomad.Variable{Path: "nomad/jobs/cp-marker", Items: nomad.VariableItems{"written": "before the backup"}}, nil); err != nil {
		t.Fatal(err)
	}
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "nomad_snapshot" "cp-nomad" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
  verify {
    schedule = "0 4 * * *"
    min_jobs = 2
    job "cp-marker" {}
    variable "nomad/jobs/cp-marker" {}
    scratch {
      nomad = %q
    }
  }
}`, nomadSource(t, stack.Nomad.URL()), tool("nomad")))
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	logs := forceOK(t, ctx, "vigil-cp-nomad")
	if last := lastRecord(t, "cp-nomad"); last.Status != record.Succeeded || last.Source["raft_index"] == "" {
		t.Fatalf("record: %+v", last)
	}
	if !strings.Contains(logs, "revoked the run's credentials lease") || !strings.Contains(logs, "nomad/creds/") {
		t.Errorf("the run's Nomad token lease was not revoked:\n%s", logs)
	}
	tokens, _, err := nc.ACLTokens().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tokens {
		if strings.HasPrefix(strings.ToLower(tk.Name), "vault") {
			t.Errorf("a token Vault issued outlived the run: %s", tk.Name)
		}
	}

	// list, status and prune see it as any other backup.
	if r := vigil(t, "", "list", "-config", dir, "-backup", "cp-nomad"); r.code != 0 || strings.Count(r.stdout, "\n") != 2 {
		t.Fatalf("list: %s", r)
	}
	if r := vigil(t, "", "status", "-config", dir, "cp-nomad"); r.code != 0 || !strings.Contains(r.stdout, "cp-nomad") {
		t.Fatalf("status: %s", r)
	}
	if r := vigil(t, "", "prune", "-dry-run", "-config", dir, "-backup", "cp-nomad"); r.code != 0 {
		t.Fatalf("prune: %s", r)
	}
	file, key := snapshotFile(t, ctx, prefix, "cp-nomad")
	if out, err := toolCmd(t, "nomad", os.Environ(), "operator", "snapshot", "inspect", file); err != nil || !strings.Contains(out, "Index") {
		t.Fatalf("nomad operator snapshot inspect: %v\n%s", err, out)
	}

	// Restore into a fresh server: the job and the variable come back.
	fresh := t.TempDir()
	p, addr, err := scratch.NomadServer(ctx, tool("nomad"), fresh, "nomad-restore", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(10 * time.Second)
	if r := vigil(t, "", "restore", "-auto-approve", "-config", dir, "-backup", "cp-nomad", "-to", "http://"+addr); r.code != 0 || !strings.Contains(r.stdout, "sha256 verified") {
		t.Fatalf("restore: %s", r)
	}
	fc, _ := nomad.NewClient(&nomad.Config{Address: "http://" + addr, Region: "global"})
	fc.SetSecretID("")
	if _, _, err := fc.Jobs().Info("cp-marker", nil); err != nil {
		t.Errorf("the restored cluster lacks job cp-marker: %v", err)
	}
	if vs, _, err := fc.Variables().PrefixList("nomad/jobs/cp-marker", nil); err != nil || len(vs) != 1 {
		t.Errorf("the restored cluster lacks the variable: %v %v", vs, err)
	}

	// The drill job, through Nomad.
	forceOK(t, ctx, "vigil-verify-cp-nomad")
	v := lastVerify(t, "cp-nomad")
	if v.Status != record.Succeeded || v.Verify == nil || len(v.Verify.Checks) != 3 {
		t.Fatalf("drill record: %+v", v)
	}
	for _, c := range v.Verify.Checks {
		if !c.Passed {
			t.Errorf("drill check %s failed: %s", c.Name, c.Detail)
		}
	}

	flipByte(t, ctx, key)
	tmp := t.TempDir()
	r := vigilTmp(t, "", tmp, "verify", "-config", dir, "-backup", "cp-nomad")
	if r.code != 1 || !strings.Contains(r.stderr, "checksum check failed, no restore attempted") {
		t.Fatalf("drill of a corrupt object: %s", r)
	}
	assertNothingLeft(t, tmp)
}

// TestVaultRaftThroughNomad: a forced Nomad job backs up the harness
// Vault's integrated storage with the task's own token; the object passes
// `vault operator raft snapshot inspect`; a restore (with -force and the
// store's keys from the environment, as in a disaster) into a fresh raft
// Vault brings back a secret written before the backup; the drill job
// restores into a scratch Vault, unseals it with the production keys and
// reads the secret; and a flipped byte fails the drill before any restore.
func TestVaultRaftThroughNomad(t *testing.T) {
	needStack(t)
	if stack.Sec == nil {
		t.Skip("the open lab's Vault is in memory")
	}
	defer purgeVigilJobs(t)
	ctx := testContext(t, 8*time.Minute)
	if err := stack.Vault.PutKV(ctx, "secret/data/canary", map[string]any{"written": "before the backup"}); err != nil {
		t.Fatal(err)
	}
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "vault_raft" "cp-vault" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
  verify {
    schedule         = "0 4 * * *"
    unseal_keys_file = %q
    mount "secret/" {}
    secret "secret/data/canary" {}
    scratch {
      vault = %q
    }
  }
}`, vaultSource(stack.Vault.URL()), stack.Vault.UnsealKeysFile, tool("vault")))
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	forceOK(t, ctx, "vigil-cp-vault")
	if last := lastRecord(t, "cp-vault"); last.Status != record.Succeeded || last.Source["node"] == "" {
		t.Fatalf("record: %+v", last)
	}
	file, key := snapshotFile(t, ctx, prefix, "cp-vault")
	if out, err := toolCmd(t, "vault", os.Environ(), "operator", "raft", "snapshot", "inspect", file); err != nil || !strings.Contains(out, "Index") {
		t.Fatalf("vault operator raft snapshot inspect: %v\n%s", err, out)
	}

	// Disaster recovery: a fresh raft Vault, the store read with keys from
	// the environment (the Vault that issues them is the one restored).
	fresh := t.TempDir()
	p, api, err := scratch.VaultRaft(ctx, tool("vault"), fresh, "vault-restore", scratch.VaultOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(10 * time.Second)
	fc, _ := vault.NewClient(&vault.Config{Address: api})
	fc.ClearToken()
	init, err := plugin.InitVault(ctx, fc, false)
	if err != nil {
		t.Fatal(err)
	}
	env := append(stack.Env(harness.Tokens{Vault: init.RootToken, Consul: tokensFor([]string{dir}).Consul}),
		"AWS_ACCESS_KEY_ID="+stack.KVAccessKey, "AWS_SECRET_ACCESS_KEY="+stack.KVSecretKey)
	r := vigilEnv(t, env, "restore", "-auto-approve", "-force", "-storage-env", "-config", dir, "-backup", "cp-vault", "-to", api)
	if r.code != 0 || !strings.Contains(r.stdout, "sha256 verified") {
		t.Fatalf("restore: %s", r)
	}
	keys, err := plugin.ReadKeysFile(stack.Vault.UnsealKeysFile)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if st, err := fc.Sys().SealStatus(); err == nil && st.Sealed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the restored Vault did not seal for the snapshot's keys")
		}
	}
	if err := plugin.Unseal(ctx, fc, keys); err != nil {
		t.Fatal(err)
	}
	if err := plugin.WaitActive(ctx, fc); err != nil {
		t.Fatal(err)
	}
	root, err := plugin.RootToken(ctx, fc, keys)
	if err != nil {
		t.Fatal(err)
	}
	fc.SetToken(root)
	s, err := fc.Logical().Read("secret/data/canary")
	if err != nil || s == nil || fmt.Sprint(s.Data["data"]) != "map[written:before the backup]" {
		t.Fatalf("the restored Vault lacks the canary: %v %v", s, err)
	}

	forceOK(t, ctx, "vigil-verify-cp-vault")
	v := lastVerify(t, "cp-vault")
	if v.Status != record.Succeeded || v.Verify == nil || len(v.Verify.Checks) != 3 {
		t.Fatalf("drill record: %+v", v)
	}
	for _, c := range v.Verify.Checks {
		if !c.Passed {
			t.Errorf("drill check %s failed: %s", c.Name, c.Detail)
		}
	}

	flipByte(t, ctx, key)
	tmp := t.TempDir()
	r = vigilTmp(t, "", tmp, "verify", "-config", dir, "-backup", "cp-vault")
	if r.code != 1 || !strings.Contains(r.stderr, "checksum check failed, no restore attempted") {
		t.Fatalf("drill of a corrupt object: %s", r)
	}
	assertNothingLeft(t, tmp)
}

// TestVaultRaftTransitDrill: a production Vault sealed by a transit key
// (in the harness Vault, as auto-unseal does it): its drill restores into
// a scratch Vault with the same seal, which unseals itself, takes a root
// token with the production recovery keys and finds the secret.
func TestVaultRaftTransitDrill(t *testing.T) {
	needStack(t)
	if stack.Sec == nil {
		t.Skip("the open lab has no TLS for the transit seal")
	}
	ctx := testContext(t, 5*time.Minute)
	root, _ := stack.Vault.Root()
	if err := root.Sys().Mount("transit", &vault.MountInput{Type: "transit"}); err != nil && !strings.Contains(err.Error(), "path is already in use") {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("transit/keys/vigil-autounseal", nil); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().PutPolicy("transit-seal", `path "transit/encrypt/vigil-autounseal" { capabilities = ["update"] }
path "transit/decrypt/vigil-autounseal" { capabilities = ["update"] }`); err != nil {
		t.Fatal(err)
	}
	sealTok, err := root.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"transit-seal"}, NoParent: true, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	seal := fmt.Sprintf(`seal "transit" {
  address     = %q
  key_name    = "vigil-autounseal"
  mount_path  = "transit/"
  tls_ca_cert = %q
}
`, stack.Vault.URL(), stack.Sec.CA.File)
	sealEnv := "VAULT_TRANSIT_SEAL_TOKEN=" + sealTok.Auth.ClientToken
	prod := t.TempDir()
	p, api, err := scratch.VaultRaft(ctx, tool("vault"), prod, "vault-transit", scratch.VaultOptions{SealHCL: seal, Env: []string{"VAULT_TOKEN=" + sealTok.Auth.ClientToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(10 * time.Second)
	pc, _ := vault.NewClient(&vault.Config{Address: api})
	pc.ClearToken()
	init, err := plugin.InitVault(ctx, pc, true)
	if err != nil {
		t.Fatal(err)
	}
	recovery := filepath.Join(t.TempDir(), "recovery.json")
	b := fmt.Sprintf(`{"recovery_keys_b64": [%q]}`, init.RecoveryKeysB64[0])
	if err := os.WriteFile(recovery, []byte(b), 0o600); err != nil {
		t.Fatal(err)
	}
	pc.SetToken(init.RootToken)
	if err := pc.Sys().Mount("secret", &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Logical().Write("secret/data/canary", map[string]any{"data": map[string]any{"written": "before the backup"}}); err != nil {
		t.Fatal(err)
	}

	specs := t.TempDir()
	writeSpec(t, specs, fmt.Sprintf(`
consul {
  enabled = false
}

storage "local" "disk" {
  path = %q
}

backup "vault_raft" "transit-vault" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  vault {
    address = %q
  }
  verify {
    recovery_keys_file = %q
    %s
    mount "secret/" {}
    secret "secret/data/canary" {}
    scratch {
      vault = %q
    }
  }
}`, t.TempDir(), api, recovery, strings.ReplaceAll(seal, "\n", "\n    "), tool("vault")))
	env := append(harness.CleanEnv(), "VAULT_TOKEN="+init.RootToken, sealEnv)
	if r := vigilEnv(t, env, "run", "-config", specs, "-backup", "transit-vault"); r.code != 0 {
		t.Fatalf("backup: %s", r)
	}
	tmp := t.TempDir()
	r := vigilEnv(t, append(env, "TMPDIR="+tmp), "verify", "-config", specs, "-backup", "transit-vault")
	// The archive, the mount and the secret.
	if r.code != 0 || !strings.Contains(r.stdout, "3 checks passed") {
		t.Fatalf("drill with the transit seal: %s", r)
	}
	assertNothingLeft(t, tmp)
	if strings.Contains(r.stdout+r.stderr, init.RecoveryKeysB64[0]) || strings.Contains(r.stdout+r.stderr, sealTok.Auth.ClientToken) {
		t.Fatal("the drill printed a recovery key or the seal's token")
	}
}

// TestVaultRaftFromTheActiveNode: pointed at a standby of a two-node raft
// cluster, a vault_raft run asks sys/leader, takes the snapshot from the
// active node, and its manifest names that node.
func TestVaultRaftFromTheActiveNode(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 3*time.Minute)
	p1, api1, err := scratch.VaultRaft(ctx, tool("vault"), t.TempDir(), "vault-n1", scratch.VaultOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p1.Stop(10 * time.Second)
	c1, _ := vault.NewClient(&vault.Config{Address: api1})
	c1.ClearToken()
	init, err := plugin.InitVault(ctx, c1, false)
	if err != nil {
		t.Fatal(err)
	}
	join := fmt.Sprintf("retry_join {\n    leader_api_addr = %q\n  }", api1)
	p2, api2, err := scratch.VaultRaft(ctx, tool("vault"), t.TempDir(), "vault-n2", scratch.VaultOptions{RaftHCL: join})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Stop(10 * time.Second)
	c2, _ := vault.NewClient(&vault.Config{Address: api2})
	c2.ClearToken()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		// The joining node unseals with the cluster's keys once it joined.
		if st, err := c2.Sys().Unseal(init.KeysB64[0]); err == nil && !st.Sealed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second node never unsealed")
		}
	}
	c2.SetToken(init.RootToken)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		if l, err := c2.Sys().Leader(); err == nil && !l.IsSelf && l.LeaderAddress == api1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second node never became a standby of the first")
		}
	}
	specs := t.TempDir()
	writeSpec(t, specs, fmt.Sprintf(`
consul {
  enabled = false
}

storage "local" "disk" {
  path = %q
}

backup "vault_raft" "standby" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  vault {
    address = %q
  }
}`, t.TempDir(), api2))
	r := vigilEnv(t, append(harness.CleanEnv(), "VAULT_TOKEN="+init.RootToken), "run", "-config", specs, "-backup", "standby")
	if r.code != 0 {
		t.Fatalf("run against the standby: %s", r)
	}
	r = vigilEnv(t, append(harness.CleanEnv(), "VAULT_TOKEN="+init.RootToken), "list", "-json", "-config", specs, "-backup", "standby")
	if r.code != 0 || !strings.Contains(r.stdout, `"node": "`+api1+`"`) {
		t.Fatalf("the manifest should name the active node %s: %s", api1, r)
	}
}
