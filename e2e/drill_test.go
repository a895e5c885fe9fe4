//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vigil-backup/vigil/tasks/record"
)

// TestDrillsThroughNomad: a good consul_snapshot, etcd and consul_kv
// backup each pass a drill forced through Nomad (the first two as their
// vigil-verify-* jobs, the last right after its backup), and the records
// hold the checked values and the restore time.
func TestDrillsThroughNomad(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 10*time.Minute)
	seedData(t, ctx)
	applyExamples(t)
	for _, name := range []string{"consul-prod", "etcd-main"} {
		forceBackup(t, ctx, name)
		forceJob(t, "vigil-verify-"+name)
	}
	forceBackup(t, ctx, "consul-kv-services") // runs with -verify
	for _, name := range []string{"consul-prod", "etcd-main", "consul-kv-services"} {
		v := lastVerify(t, name)
		if v.Status != record.Succeeded || v.Verify == nil || v.Verify.RestoreTime <= 0 || len(v.Verify.Checks) == 0 {
			t.Errorf("%s: drill record %+v", name, v)
			continue
		}
		if n, _ := v.Verify.Values["keys_restored"].(float64); n < 1 {
			t.Errorf("%s: no restored key count in %v", name, v.Verify.Values)
		}
		m, _ := latestManifest(t, ctx, examplePrefix(name), name)
		if v.Verify.BackupID != m.ID || v.Verify.BackupAge <= 0 {
			t.Errorf("%s: drilled %s (age %s), newest backup %s", name, v.Verify.BackupID, v.Verify.BackupAge, m.ID)
		}
	}
}

// forceJob forces a periodic job and requires its allocation to complete.
func forceJob(t *testing.T, id string) {
	t.Helper()
	alloc, err := stack.Nomad.ForceRun(testContext(t, 5*time.Minute), id, 4*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if alloc.ClientStatus != "complete" {
		t.Fatalf("%s: allocation %s %s\n%s", id, alloc.ID, alloc.ClientStatus, stack.Nomad.Explain(alloc))
	}
}

// drillSpec declares a consul_kv backup whose drill requires a key.
func drillSpec(t *testing.T, name, key string) string {
	dir, _ := specDir(t, fmt.Sprintf(`
backup "consul_kv" %q {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
  verify {
    min_keys = 1
    key %q {}
    scratch {
      consul = %q
    }
  }
}`, name, consulSource(t, stack.Consul.URL(), "drill/"), key, tool("consul")))
	return dir
}

// vigilTmp runs vigil with TMPDIR set, so the drill's scratch data lands
// where the test can check that nothing outlives it.
func vigilTmp(t *testing.T, tok, tmp string, args ...string) result {
	t.Helper()
	return vigilEnv(t, append(envFor(tok, args), "TMPDIR="+tmp), args...)
}

// assertNothingLeft checks that no scratch process or folder survives.
func assertNothingLeft(t *testing.T, tmp string) {
	t.Helper()
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		t.Errorf("left in TMPDIR after the drill: %s", e.Name())
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(tmp)) {
			t.Errorf("a process still runs from the drill's folder: %s", strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
}

// TestDrillFailsOnMissingKey: a backup taken before a required key existed
// fails its drill, loudly, naming the key; later backups pass. Neither path
// leaves a scratch server or folder behind.
func TestDrillFailsOnMissingKey(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	tok := entityToken(t, ctx)
	cc, _ := stack.Consul.Client()
	cc.KV().Put(kvPair("drill/present", "1"), nil)
	dir := drillSpec(t, "drill-key", "drill/flag")
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "drill-key"); r.code != 0 {
		t.Fatalf("backup: %s", r)
	}
	tmp := t.TempDir()
	r := vigilTmp(t, tok, tmp, "verify", "-config", dir, "-backup", "drill-key")
	if r.code != 1 || !strings.Contains(r.stderr, "verify drill-key: key drill/flag missing (restored 1 keys, expected ≥ 1)") {
		t.Fatalf("drill of a backup without the key: %s", r)
	}
	if v := lastVerify(t, "drill-key"); v.Status != record.Failed || !strings.Contains(v.Error, "drill/flag missing") {
		t.Errorf("record: %+v", v)
	}
	assertNothingLeft(t, tmp)

	cc.KV().Put(kvPair("drill/flag", "on"), nil)
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "drill-key"); r.code != 0 {
		t.Fatalf("backup: %s", r)
	}
	if r := vigilTmp(t, tok, tmp, "verify", "-config", dir, "-backup", "drill-key"); r.code != 0 {
		t.Fatalf("drill after the key exists: %s", r)
	}
	assertNothingLeft(t, tmp)
}

// TestDrillRefusesCorruptObject: one flipped byte in the stored object
// fails the drill on the checksum, before any restore.
func TestDrillRefusesCorruptObject(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	tok := entityToken(t, ctx)
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "consul_snapshot" "drill-corrupt" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
  verify {
    min_keys = 1
    scratch {
      consul = %q
    }
  }
}`, consulSource(t, stack.Consul.URL(), ""), tool("consul")))
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "drill-corrupt"); r.code != 0 {
		t.Fatalf("backup: %s", r)
	}
	m, data := latestManifest(t, ctx, prefix, "drill-corrupt")
	data[len(data)/2] ^= 0x01
	if _, err := stack.MinIO.RootClient().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(stack.MinIO.Bucket), Key: aws.String(prefix + m.Object), Body: bytes.NewReader(data),
	}); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	r := vigilTmp(t, tok, tmp, "verify", "-config", dir, "-backup", "drill-corrupt")
	if r.code != 1 || !strings.Contains(r.stderr, "checksum check failed, no restore attempted") || !strings.Contains(r.stderr, "does not match the manifest") {
		t.Fatalf("drill of a corrupt object: %s", r)
	}
	if strings.Contains(r.stderr, "scratch") {
		t.Errorf("a scratch server was involved: %s", r.stderr)
	}
	assertNothingLeft(t, tmp)
}
