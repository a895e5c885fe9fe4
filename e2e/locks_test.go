//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/lock"
	"github.com/vigil-backup/vigil/tasks/record"
)

// TestLockRenewalsFailing: when the run's session renewals fail (here a
// proxy in front of the control Consul refuses them), the run cancels
// itself within the session TTL, before Consul could invalidate the
// session and let another run in, and writes no manifest.
func TestLockRenewalsFailing(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	proxy, err := startConsulProxy()
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	// A slow link to a big etcd keeps the run going well past the TTL.
	slow, err := harness.StartTCPProxy(hostPort(largeEtcd(t).Endpoint))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Throttle(12 << 20)
	name := "locks-renewals"
	dir, prefix := specDirVia(t, proxy.URL, stack.MinIO.Endpoint(), fmt.Sprintf(`
backup "etcd" %q {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  timeout  = "10m"
  lock {
    ttl = "10s"
  }
  %s
}`, name, etcdSource(t, "https://"+slow.Addr)))
	tok := entityToken(t, ctx)
	// CONSUL_HTTP_ADDR wins over the spec's control address, as for the
	// consul CLI: it names the proxy too.
	args := []string{"run", "-config", dir, "-backup", name}
	cmd, out, errb := startVigilEnv(t, append(envFor(tok, args), "CONSUL_HTTP_ADDR="+proxy.URL), args...)
	cc, _ := stack.Consul.Client()
	book := &record.Consul{Client: cc}
	deadline := time.Now().Add(time.Minute)
	for {
		if cur, _ := book.Current(ctx, name, record.KindBackup); cur != nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the run never started: %s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	proxy.Set(harness.ProxyRule{Method: "PUT", PathPrefix: "/v1/session/renew/", Status: 500})
	armed := time.Now()
	r := waitVigil(cmd, out, errb)
	took := time.Since(armed)
	if r.code != 1 || !strings.Contains(r.stderr, "session renewals failed") {
		t.Fatalf("a run whose renewals fail must stop saying so: %s", r.result)
	}
	if took > 16*time.Second {
		t.Fatalf("the run stopped %s after renewals began to fail; the TTL is 10s", took)
	}
	if proxy.Hits("PUT /v1/session/renew/") == 0 {
		t.Fatal("no renewal went through the proxy")
	}
	if ms := manifests(t, ctx, prefix, name); len(ms) != 0 {
		t.Fatalf("a run that lost its lock wrote a manifest: %v", ms)
	}
	t.Logf("stopped %s after renewals began to fail", took.Round(100*time.Millisecond))
}

// TestConsulLockCancelRace: a signal landing while Lock returns must never
// close the stop channel twice (a panic). Acquire is cancelled at random
// moments around the time an acquisition takes, many times.
func TestConsulLockCancelRace(t *testing.T) {
	needStack(t)
	cc, _ := stack.Consul.Client()
	locker := &lock.Consul{Client: cc}
	me := lock.Me(time.Now())
	start := time.Now()
	if l, err := locker.Acquire(context.Background(), "vigil/locks/race", me, 10*time.Second, 0); err == nil {
		l.Release(context.Background())
	}
	typical := time.Since(start)
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 300; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		delay := time.Duration(rng.Int63n(int64(2*typical) + 1))
		go func() {
			time.Sleep(delay)
			cancel()
		}()
		l, err := locker.Acquire(ctx, "vigil/locks/race", me, 10*time.Second, 0)
		if err == nil {
			l.Release(context.Background())
		}
		cancel()
	}
}

// TestStandaloneS3Lock: without a control Consul, runs against S3 lock in
// the bucket (a conditional write), so a run on another host excludes this
// one, and runs started together take one backup.
func TestStandaloneS3Lock(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	tok := entityToken(t, ctx)
	name := "locks-standalone"
	prefix := fmt.Sprintf("e2e/%s-%d/", t.Name(), time.Now().UnixNano())
	dir := t.TempDir()
	spec := fmt.Sprintf(`
config_id = %q
consul {
  enabled = false
}
vault {
  address = %q
  %s
}
storage "s3" "kv" {
  bucket     = %q
  prefix     = %q
  endpoint   = %q
  path_style = true
  credentials {
    vault_kv_path = %q
  }
}
backup "etcd" %q {
  schedule = "0 * * * *"
  storage  = storage.s3.kv
  timeout  = "10m"
  lock {
    ttl = "10s"
  }
  %s
}`, configID(t), stack.Vault.URL(), caFile(), harness.Bucket, prefix, stack.MinIO.Endpoint(), harness.KVPath, name, etcdSource(t, largeEtcd(t).Endpoint))
	if err := os.WriteFile(filepath.Join(dir, "spec.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	setupSpec(t, dir, configID(t))
	lockKey := prefix + "vigil/locks/" + name + ".lock"
	held := fmt.Sprintf(`{"holder":{"host":"other-host","pid":77,"started_at":%q},"refreshed_at":%q}`,
		time.Now().UTC().Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339))
	if _, err := stack.MinIO.RootClient().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(lockKey),
		Body: strings.NewReader(held), IfNoneMatch: aws.String("*")}); err != nil {
		t.Fatal(err)
	}
	r := vigil(t, tok, "run", "-config", dir, "-backup", name)
	if r.code != 0 || !strings.Contains(r.stdout, "skipped") || !strings.Contains(r.stdout, "pid 77 on other-host") {
		t.Fatalf("a run while another host holds the lock: %s", r)
	}
	if ms := manifests(t, ctx, prefix, name); len(ms) != 0 {
		t.Fatalf("a run wrote a backup while another host held the lock: %v", ms)
	}
	if _, err := stack.MinIO.RootClient().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(lockKey)}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]result, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = vigil(t, tok, "run", "-config", dir, "-backup", name)
		}()
	}
	wg.Wait()
	skipped := 0
	var all bytes.Buffer
	for _, r := range results {
		fmt.Fprintln(&all, r)
		if r.code != 0 {
			t.Fatalf("a standalone run failed: %s", r)
		}
		if strings.Contains(r.stdout, "skipped") {
			skipped++
		}
	}
	if ms := manifests(t, ctx, prefix, name); len(ms) != 1 || skipped != len(results)-1 {
		t.Fatalf("%d runs at once: %d backups, %d skipped\n%s", len(results), len(ms), skipped, all.String())
	}
	if objs, _ := stack.MinIO.List(ctx, lockKey); len(objs) != 0 {
		t.Fatalf("the lock object outlived the runs: %v", objs)
	}
}
