//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
)

// waitForUpload waits until the run in progress of backup has an upload
// under way (its multipart upload exists), reading the run's record from
// book; it returns the object key.
func waitForUpload(t *testing.T, ctx context.Context, book *record.Consul, prefix, name string, cmd *exec.Cmd) string {
	t.Helper()
	var key string
	deadline := time.Now().Add(2 * time.Minute)
	for key == "" || len(listUploads(t, ctx, key)) == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the upload never started")
		}
		if cur, _ := book.Current(ctx, name, record.KindBackup); cur != nil {
			key = prefix + name + "/" + cur.ID + ".db.zst"
		}
		time.Sleep(50 * time.Millisecond)
	}
	return key
}

// assertManifestsWhole checks that every manifest of a backup names an
// object that is there, with the manifest's size and sha256.
func assertManifestsWhole(t *testing.T, ctx context.Context, prefix, name string) int {
	t.Helper()
	n := 0
	for _, key := range manifests(t, ctx, prefix, name) {
		m, err := manifest.Parse(getObject(t, ctx, key))
		if err != nil {
			t.Fatal(err)
		}
		data := getObject(t, ctx, prefix+m.Object)
		if int64(len(data)) != m.Size || objectChecksum(data, m) != m.Checksum() {
			t.Errorf("manifest %s names a partial or different object", key)
		}
		n++
	}
	return n
}

// TestFaultS3DiesMidUpload: MinIO stops during the upload. The run fails
// well within its timeout with an error naming the store, writes no
// manifest, and its record says failed.
func TestFaultS3DiesMidUpload(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 10*time.Minute)
	dir, prefix := bigEtcdSpec(t, "etcd-s3-dies", "sts")
	tok := entityToken(t, ctx)
	cc, _ := stack.Consul.Client()
	cmd, out, errb := startVigil(t, tok, "run", "-config", dir, "-backup", "etcd-s3-dies")
	waitForUpload(t, ctx, &record.Consul{Client: cc}, prefix, "etcd-s3-dies", cmd)
	stopped := time.Now()
	stack.MinIO.Stop()
	r := waitVigil(cmd, out, errb)
	failedAfter := time.Since(stopped)
	if err := stack.MinIO.Restart(ctx); err != nil {
		t.Fatalf("restart MinIO: %v", err)
	}
	if r.code != 1 || !strings.Contains(r.stderr, "store: put s3://") {
		t.Fatalf("a run whose S3 died: %s", r.result)
	}
	t.Logf("failed %.1fs after MinIO stopped (timeout 10m): %s", failedAfter.Seconds(), lastLine(r.stderr))
	if failedAfter > 5*time.Minute {
		t.Errorf("the run took %s to notice", failedAfter)
	}
	if ms := manifests(t, ctx, prefix, "etcd-s3-dies"); len(ms) != 0 {
		t.Errorf("manifests after a failed upload: %v", ms)
	}
	if last := lastRecord(t, "etcd-s3-dies"); last.Status != record.Failed || !strings.Contains(last.Error, "store: put") {
		t.Errorf("record: %+v", last)
	}
}

// TestFaultConsulLeaderRestart: the control Consul's only server (its
// leader) restarts during the upload. The run either completes, with a
// whole backup, or fails cleanly: never a manifest for a partial object.
func TestFaultConsulLeaderRestart(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 10*time.Minute)
	control, err := harness.StartConsulServer(ctx, t.TempDir(), "consul-restart", stack.Sec)
	if err != nil {
		t.Fatal(err)
	}
	defer control.Stop()
	dir, prefix := bigEtcdSpec(t, "etcd-consul-restart", "sts")
	writeSpec(t, dir, strings.Replace(readSpec(t, dir), "address = \""+stack.Consul.URL()+"\"", "address = \""+control.URL()+"\"", 1))
	setupSpecOn(t, dir, configID(t), &control.Consul)
	tok := entityToken(t, ctx)
	cc, _ := control.Client()
	cmd, out, errb := startVigil(t, tok, "run", "-config", dir, "-backup", "etcd-consul-restart")
	waitForUpload(t, ctx, &record.Consul{Client: cc}, prefix, "etcd-consul-restart", cmd)
	if err := control.Restart(ctx); err != nil {
		t.Fatalf("restart consul: %v", err)
	}
	r := waitVigil(cmd, out, errb)
	n := assertManifestsWhole(t, ctx, prefix, "etcd-consul-restart")
	switch r.code {
	case 0:
		if n != 1 {
			t.Errorf("the run succeeded but %d backups exist", n)
		}
		t.Logf("the run completed across the restart")
	case 1:
		if n != 0 {
			t.Errorf("the run failed but left %d backups", n)
		}
		t.Logf("the run failed cleanly: %s", lastLine(r.stderr))
	default:
		t.Fatalf("run: %s", r.result)
	}
	// Whatever happened, the next run works.
	waitLeaderOf(t, control)
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "etcd-consul-restart"); r.code != 0 {
		t.Errorf("the run after the restart: %s", r)
	}
	assertManifestsWhole(t, ctx, prefix, "etcd-consul-restart")
}

func waitLeaderOf(t *testing.T, c *harness.ConsulServer) {
	t.Helper()
	cc, _ := c.Client()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if l, err := cc.Status().Leader(); err == nil && l != "" {
			return
		}
	}
	t.Fatal("consul has no leader after the restart")
}

// TestFaultVaultUnavailable: with Vault unreachable, or sealed, before the
// run, the run fails with a clear error and a failed record, and releases
// its lock: the next run is not skipped.
func TestFaultVaultUnavailable(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	sealed, err := harness.StartVault(ctx, t.TempDir(), stack.Sec)
	if err != nil {
		t.Fatal(err)
	}
	defer sealed.Stop()
	root, _ := sealed.Root()
	if err := root.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	dir, _ := specDir(t, fmt.Sprintf(`
backup "consul_kv" "vault-down" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}`, consulSource(t, stack.Consul.URL(), "")))
	tok := entityToken(t, ctx)
	// VAULT_ADDR is the address a run uses, as for the vault CLI (inside
	// Nomad the job sets it from the spec's vault block).
	args := []string{"run", "-config", dir, "-backup", "vault-down"}
	for _, c := range []struct{ addr, want string }{
		{"https://127.0.0.1:1", "connection refused"},
		{sealed.URL(), "Vault is sealed"},
	} {
		r := vigilEnv(t, append(envFor(tok, args), "VAULT_ADDR="+c.addr), args...)
		out := r.stdout + r.stderr
		if r.code != 1 || !strings.Contains(out, c.want) || !strings.Contains(out, "vault") {
			t.Errorf("Vault at %s: %s", c.addr, r)
		}
		if last := lastRecord(t, "vault-down"); last.Status != record.Failed || !strings.Contains(last.Error, c.want) {
			t.Errorf("record after Vault at %s: %+v", c.addr, last)
		}
		if strings.Contains(out, tok) {
			t.Error("the Vault token appears in the output")
		}
	}
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "vault-down"); r.code != 0 || !strings.HasPrefix(r.stdout, "succeeded") {
		t.Errorf("the lock was not released by the failed runs: %s", r)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
