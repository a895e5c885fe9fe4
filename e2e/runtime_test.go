//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/plugin/scratch"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
)

// history reads the run history of a backup from the control Consul.
func history(t *testing.T, name string) []record.Run {
	t.Helper()
	c, _ := stack.Consul.Client()
	runs, err := (&record.Consul{Client: c}).History(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// assertNoOverlap checks that no two runs that did work overlapped in time.
func assertNoOverlap(t *testing.T, name string) {
	t.Helper()
	var worked []record.Run
	for _, r := range history(t, name) {
		if r.Status == record.Succeeded || r.Status == record.Failed {
			if r.FinishedAt == nil {
				t.Errorf("%s: finished run %s without an end time", name, r.ID)
				continue
			}
			worked = append(worked, r)
		}
	}
	for i := range worked {
		for j := i + 1; j < len(worked); j++ {
			a, b := worked[i], worked[j]
			if a.StartedAt.Before(*b.FinishedAt) && b.StartedAt.Before(*a.FinishedAt) {
				t.Errorf("%s: runs %s and %s overlapped", name, a.ID, b.ID)
			}
		}
	}
}

// listUploads lists the incomplete multipart uploads of one key.
func listUploads(t *testing.T, ctx context.Context, key string) []string {
	t.Helper()
	out, err := stack.MinIO.RootClient().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(stack.MinIO.Bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range out.Uploads {
		ids = append(ids, aws.ToString(u.Key)+" "+aws.ToString(u.UploadId))
	}
	return ids
}

func manifests(t *testing.T, ctx context.Context, prefix, name string) []string {
	t.Helper()
	objs, err := stack.MinIO.List(ctx, prefix+name+"/")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		if strings.HasSuffix(o.Key, manifest.Suffix) {
			out = append(out, o.Key)
		}
	}
	return out
}

// TestEtcdSnapshotRestore: the stored etcd snapshot passes `etcdutl
// snapshot status`, and a member started on `etcdutl snapshot restore` of
// it has the same keys and revision.
func TestEtcdSnapshotRestore(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	seedData(t, ctx)
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "etcd" "etcd-small" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}`, etcdSource(t, stack.Etcd.Endpoint)))
	tok := entityToken(t, ctx)
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "etcd-small"); r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	m, _ := latestManifest(t, ctx, prefix, "etcd-small")
	if m.Source["revision"] == "" {
		t.Fatalf("manifest has no revision: %v", m.Source)
	}

	work := t.TempDir()
	db := filepath.Join(work, "snap.db")
	if r := vigil(t, tok, "restore", "-config", dir, "-backup", "etcd-small", "-out", db); r.code != 0 || !strings.Contains(r.stdout, "etcdutl snapshot restore") {
		t.Fatalf("restore -out: %s", r)
	}
	status, err := toolCmd(t, "etcdutl", os.Environ(), "snapshot", "status", db, "-w", "json")
	if err != nil {
		t.Fatalf("etcdutl snapshot status: %v\n%s", err, status)
	}
	var st struct {
		Revision int64 `json:"revision"`
	}
	json.Unmarshal([]byte(status), &st)
	if fmt.Sprint(st.Revision) != m.Source["revision"] {
		t.Errorf("snapshot status revision %d, manifest %s", st.Revision, m.Source["revision"])
	}

	ports, _ := scratch.FreePorts(2)
	data := filepath.Join(work, "restored.etcd")
	if out, err := toolCmd(t, "etcdutl", os.Environ(), "snapshot", "restore", db, "--data-dir", data, "--name", "restored",
		"--initial-cluster", "restored="+scratch.PeerURL(ports[1]), "--initial-advertise-peer-urls", scratch.PeerURL(ports[1])); err != nil {
		t.Fatalf("etcdutl snapshot restore: %v\n%s", err, out)
	}
	member, err := harness.StartEtcdMember(ctx, work, "restored", data, ports[0], ports[1], 0, stack.Sec)
	if err != nil {
		t.Fatal(err)
	}
	defer member.Stop()
	src, _ := stack.Etcd.Client()
	defer src.Close()
	dst, _ := member.Client()
	defer dst.Close()
	want, _ := src.Get(ctx, "/registry/", clientv3WithPrefix()...)
	got, err := dst.Get(ctx, "/registry/", clientv3WithPrefix()...)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Kvs) == 0 || len(got.Kvs) != len(want.Kvs) {
		t.Fatalf("restored member has %d keys under /registry/, source %d", len(got.Kvs), len(want.Kvs))
	}
	for i := range want.Kvs {
		if !bytes.Equal(want.Kvs[i].Key, got.Kvs[i].Key) || !bytes.Equal(want.Kvs[i].Value, got.Kvs[i].Value) || want.Kvs[i].ModRevision != got.Kvs[i].ModRevision {
			t.Fatalf("key %s differs after restore", want.Kvs[i].Key)
		}
	}
	if fmt.Sprint(got.Header.Revision) != m.Source["revision"] {
		t.Errorf("restored revision %d, manifest %s", got.Header.Revision, m.Source["revision"])
	}

	// vigil restore -data-dir runs etcdutl itself.
	etcdutl, _ := harness.Tool("etcdutl")
	data2 := filepath.Join(work, "by-vigil.etcd")
	if r := vigil(t, tok, "restore", "-config", dir, "-backup", "etcd-small", "-out", filepath.Join(work, "snap2.db"), "-data-dir", data2, "-etcdutl", etcdutl); r.code != 0 {
		t.Fatalf("restore -data-dir: %s", r)
	}
	if _, err := os.Stat(filepath.Join(data2, "member", "snap", "db")); err != nil {
		t.Errorf("restore -data-dir left no member db: %v", err)
	}
	assertNoOverlap(t, "etcd-small")
}

func bigEtcdSpec(t *testing.T, name, storage string) (string, string) {
	e := largeEtcd(t)
	return specDir(t, fmt.Sprintf(`
backup "etcd" %q {
  schedule = "0 * * * *"
  storage  = storage.s3.%s
  timeout  = "10m"
  lock {
    ttl = "10s"
  }
  %s
}`, name, storage, etcdSource(t, e.Endpoint)))
}

type childRun struct {
	result
	maxRSSKiB int64
}

func startVigil(t *testing.T, tok string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	return startVigilEnv(t, envFor(tok, args), args...)
}

// startVigilEnv starts the binary with env and returns it running.
func startVigilEnv(t *testing.T, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(vigilBin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out, &errb
}

func waitVigil(cmd *exec.Cmd, out, errb *bytes.Buffer) childRun {
	peak, err := harness.PeakRSS(cmd)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return childRun{result: result{code, out.String(), errb.String()}, maxRSSKiB: peak >> 10}
}

// TestFaultLockContention: 50 runs of one backup at once (100 under `make
// faults`), over a 512 MiB etcd so they overlap: exactly one writes a
// backup, the rest exit 0 as skipped and record the holder. It also reports
// the winner's peak RSS.
func TestFaultLockContention(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 10*time.Minute)
	dir, prefix := bigEtcdSpec(t, "etcd-contended", "kv")
	tok := entityToken(t, ctx)
	n := 50
	if os.Getenv("VIGIL_FAULTS_LONG") != "" {
		n = 100
	}
	runs := make([]childRun, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		cmd, out, errb := startVigil(t, tok, "run", "-config", dir, "-backup", "etcd-contended")
		wg.Add(1)
		go func(i int) { defer wg.Done(); runs[i] = waitVigil(cmd, out, errb) }(i)
	}
	wg.Wait()
	succeeded, skipped := 0, 0
	for _, r := range runs {
		switch {
		case r.code == 0 && strings.HasPrefix(r.stdout, "succeeded:"):
			succeeded++
			t.Logf("winner: peak RSS %.1f MiB over a %d MiB etcd db", float64(r.maxRSSKiB)/1024, BigEtcdBytes>>20)
		case r.code == 0 && strings.HasPrefix(r.stdout, "skipped:") && strings.Contains(r.stdout, "pid "):
			skipped++
		default:
			t.Errorf("unexpected run: %s", r.result)
		}
	}
	if succeeded != 1 || skipped != n-1 {
		t.Fatalf("%d succeeded, %d skipped; want 1 and %d", succeeded, skipped, n-1)
	}
	if ms := manifests(t, ctx, prefix, "etcd-contended"); len(ms) != 1 {
		t.Errorf("want exactly 1 backup, found %v", ms)
	}
	hist := history(t, "etcd-contended")
	nSkipped := 0
	for _, r := range hist {
		if r.Status == record.Skipped {
			nSkipped++
			if r.Holder == nil || r.Holder.PID == 0 {
				t.Errorf("skipped record without the holder: %+v", r)
			}
		}
	}
	if nSkipped != n-1 {
		t.Errorf("history has %d skipped runs, want %d", nSkipped, n-1)
	}
	assertNoOverlap(t, "etcd-contended")
}

// TestKill9MidUpload: a run killed during its upload leaves no manifest and
// no listed backup; once the session TTL has passed, the next run is green
// and aborts the dead run's multipart upload.
func TestFaultKill9MidUpload(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 10*time.Minute)
	dir, prefix := bigEtcdSpec(t, "etcd-killed", "sts")
	tok := entityToken(t, ctx)
	cmd, _, _ := startVigil(t, tok, "run", "-config", dir, "-backup", "etcd-killed")
	// The run in progress is on record; its ID names the object. (MinIO
	// lists multipart uploads of an exact key only.)
	cc, _ := stack.Consul.Client()
	book := &record.Consul{Client: cc}
	var key string
	uploads := func() int {
		if key == "" {
			cur, err := book.Current(ctx, "etcd-killed", record.KindBackup)
			if err != nil || cur == nil {
				return 0
			}
			key = prefix + "etcd-killed/" + cur.ID + ".db.zst"
		}
		return len(listUploads(t, ctx, key))
	}
	deadline := time.Now().Add(2 * time.Minute)
	for uploads() == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the upload never started")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	if ms := manifests(t, ctx, prefix, "etcd-killed"); len(ms) != 0 {
		t.Fatalf("a killed run left a manifest: %v", ms)
	}
	if r := vigil(t, tok, "list", "-config", dir, "-backup", "etcd-killed"); r.code != 0 || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("list after the kill should show no backup: %s", r)
	}
	// The dead run's session holds the lock until its TTL passes.
	start := time.Now()
	var last result
	for time.Since(start) < 90*time.Second {
		last = vigil(t, tok, "run", "-config", dir, "-backup", "etcd-killed")
		if last.code == 0 && strings.HasPrefix(last.stdout, "succeeded:") {
			break
		}
		if last.code != 0 || !strings.HasPrefix(last.stdout, "skipped:") {
			t.Fatalf("run after the kill: %s", last)
		}
		time.Sleep(2 * time.Second)
	}
	if !strings.HasPrefix(last.stdout, "succeeded:") {
		t.Fatalf("no green run within 90s of the kill: %s", last)
	}
	t.Logf("next run green %.0fs after the kill (lock TTL 10s)", time.Since(start).Seconds())
	if ms := manifests(t, ctx, prefix, "etcd-killed"); len(ms) != 1 {
		t.Errorf("want 1 backup after the green run, got %v", ms)
	}
	dead := 0
	for _, r := range history(t, "etcd-killed") {
		if r.Status == record.Failed && strings.Contains(r.Error, "died without finishing") {
			dead++
		}
	}
	if dead != 1 {
		t.Errorf("the killed run should be on record as failed once, found %d", dead)
	}
	if n := uploads(); n != 0 {
		t.Errorf("%d incomplete multipart uploads remain after the next run", n)
	}
	assertNoOverlap(t, "etcd-killed")
}

// TestVaultAWSLeaseRevoked: after each run with vault_aws_path, success or
// failure, the lease is gone and its keys no longer work.
func TestVaultAWSLeaseRevoked(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	seedData(t, ctx) // its own keys under service/, run alone or not
	dir, _ := specDir(t, fmt.Sprintf(`
backup "consul_kv" "kv-aws" {
  schedule = "0 * * * *"
  storage  = storage.s3.aws
  %s
}

backup "consul_kv" "kv-aws-broken" {
  schedule = "0 * * * *"
  storage  = storage.s3.aws
  consul {
    address = "https://127.0.0.1:1"
  }
}`, consulSource(t, stack.Consul.URL(), "service/")))
	tok := entityToken(t, ctx)
	before := stack.IAM.Issued()
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "kv-aws"); r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "kv-aws-broken"); r.code != 1 {
		t.Fatalf("a run against a dead Consul must fail: %s", r)
	}
	issued := map[string]string{}
	for k, v := range stack.IAM.Issued() {
		if _, old := before[k]; !old {
			issued[k] = v
		}
	}
	if len(issued) != 2 {
		t.Fatalf("want 2 key pairs issued (one per run), got %d", len(issued))
	}
	if live := stack.IAM.LiveKeys(); len(live) != 0 {
		t.Errorf("keys still live after the runs: %v", live)
	}
	root, _ := stack.Vault.Root()
	leases, err := root.Logical().List("sys/leases/lookup/aws/creds/" + harness.AWSRole + "/")
	if err != nil {
		t.Fatal(err)
	}
	if leases != nil && leases.Data["keys"] != nil {
		t.Errorf("leases remain: %v", leases.Data["keys"])
	}
	for access, secret := range issued {
		if err := putWith(ctx, credentials.NewStaticCredentialsProvider(access, secret, ""), "e2e/revoked"); err == nil {
			t.Errorf("revoked key %s still works", access)
		}
	}
}

// TestRetentionOverForcedRuns: ten forced Nomad runs with last = 3 leave
// exactly three backups, data and manifest.
func TestRetentionOverForcedRuns(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 10*time.Minute)
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "consul_kv" "kv-retained" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
  retain {
    last = 3
  }
}`, consulSource(t, stack.Consul.URL(), "")))
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	for i := 0; i < 10; i++ {
		forceBackup(t, ctx, "kv-retained")
	}
	objs, err := stack.MinIO.List(ctx, prefix+"kv-retained/")
	if err != nil {
		t.Fatal(err)
	}
	data, mans := 0, 0
	for _, o := range objs {
		if strings.HasSuffix(o.Key, manifest.Suffix) {
			mans++
		} else if strings.HasSuffix(o.Key, plugin.Extension("consul_kv")+".zst") {
			data++
		}
	}
	if mans != 3 || data != 3 {
		t.Errorf("after 10 runs with last = 3: %d manifests, %d data objects", mans, data)
	}
	if r := lastRecord(t, "kv-retained"); r.Retention == nil || r.Retention.Kept != 3 {
		t.Errorf("last record's retention: %+v", r.Retention)
	}
	assertNoOverlap(t, "kv-retained")

	// prune -dry-run under a stricter policy shows, and deletes nothing.
	spec := filepath.Join(dir, "spec.hcl")
	b, _ := os.ReadFile(spec)
	os.WriteFile(spec, []byte(strings.Replace(string(b), "last = 3", "last = 1", 1)), 0o644)
	tok := entityToken(t, ctx)
	r := vigil(t, tok, "prune", "-dry-run", "-config", dir, "-backup", "kv-retained")
	if r.code != 0 || strings.Count(r.stdout, "delete  ") != 2 || !strings.Contains(r.stdout, "1 kept, 2 would be deleted") {
		t.Fatalf("prune -dry-run: %s", r)
	}
	if ms := manifests(t, ctx, prefix, "kv-retained"); len(ms) != 3 {
		t.Errorf("dry run deleted backups: %v", ms)
	}
	if r := vigil(t, tok, "list", "-config", dir, "-backup", "kv-retained"); r.code != 0 || strings.Count(r.stdout, "kv-retained/") != 3 {
		t.Errorf("list: %s", r)
	}
	if r := vigil(t, tok, "prune", "-config", dir, "-backup", "kv-retained"); r.code != 0 || !strings.Contains(r.stdout, "1 kept, 2 deleted") {
		t.Errorf("prune: %s", r)
	}
	if ms := manifests(t, ctx, prefix, "kv-retained"); len(ms) != 1 {
		t.Errorf("after prune: %v", ms)
	}
}

// TestLockLostMidRun: when the run's Consul session is destroyed during the
// upload, the run stops, aborts the upload, writes no manifest and fails.
func TestFaultLockLostMidRun(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 10*time.Minute)
	dir, prefix := bigEtcdSpec(t, "etcd-lost", "sts")
	tok := entityToken(t, ctx)
	cc, _ := stack.Consul.Client()
	book := &record.Consul{Client: cc}
	cmd, out, errb := startVigil(t, tok, "run", "-config", dir, "-backup", "etcd-lost")
	var key string
	deadline := time.Now().Add(2 * time.Minute)
	for key == "" || len(listUploads(t, ctx, key)) == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the upload never started")
		}
		if cur, _ := book.Current(ctx, "etcd-lost", record.KindBackup); cur != nil {
			key = prefix + "etcd-lost/" + cur.ID + ".db.zst"
		}
		time.Sleep(50 * time.Millisecond)
	}
	pair, _, err := cc.KV().Get("vigil/locks/etcd-lost", nil)
	if err != nil || pair == nil || pair.Session == "" {
		t.Fatalf("the lock is not held: %v %+v", err, pair)
	}
	if _, err := cc.Session().Destroy(pair.Session, nil); err != nil {
		t.Fatal(err)
	}
	r := waitVigil(cmd, out, errb)
	if r.code != 1 || !strings.Contains(r.stderr, "lock was lost") {
		t.Fatalf("a run that lost its lock must fail saying so: %s", r.result)
	}
	if ms := manifests(t, ctx, prefix, "etcd-lost"); len(ms) != 0 {
		t.Errorf("a run that lost its lock wrote a manifest: %v", ms)
	}
	if ups := listUploads(t, ctx, key); len(ups) != 0 {
		t.Errorf("the upload was not aborted: %v", ups)
	}
	if last := lastRecord(t, "etcd-lost"); last.Status != record.Failed || !strings.Contains(last.Error, "lock was lost") {
		t.Errorf("record: %+v", last)
	}
}
