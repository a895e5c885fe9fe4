//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
)

// specDir writes a spec with the harness's control Consul and Vault, one
// S3 storage per credential source under a prefix of the test's own, and
// the given backups. It returns the directory and the prefix.
func specDir(t *testing.T, backups string) (string, string) {
	t.Helper()
	return specDirVia(t, stack.Consul.URL(), stack.MinIO.Endpoint(), backups)
}

// specDirVia is specDir with another control Consul address and S3
// endpoint: a proxy in front of the real one.
func specDirVia(t *testing.T, control, s3Endpoint, backups string) (string, string) {
	t.Helper()
	prefix := fmt.Sprintf("e2e/%s-%d/", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	storage := func(name, creds string) string {
		return fmt.Sprintf(`
storage "s3" %q {
  bucket     = %q
  prefix     = %q
  endpoint   = %q
  path_style = true
  credentials {
    %s
  }
}
`, name, harness.Bucket, prefix, s3Endpoint, creds)
	}
	src := fmt.Sprintf(`
config_id = %q

consul {
  address = %q
}

vault {
  address = %q
}

nomad {
  datacenters = ["dc1"]
  driver      = "raw_exec"
  binary      = %q
}
`, configID(t), control, stack.Vault.URL(), vigilBin)
	src += storage("sts", `vault_identity_sts { role = "`+harness.OIDCRole+`" }`)
	src += storage("kv", `vault_kv_path = "`+harness.KVPath+`"`)
	src += storage("aws", `vault_aws_path = "aws/creds/`+harness.AWSRole+`"`)
	src += storage("awssts", `vault_aws_path = "aws/sts/`+harness.AWSSTSRole+`"`)
	src += backups
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spec.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, prefix
}

var (
	bigEtcdOnce sync.Once
	bigEtcd     *harness.Etcd
	bigEtcdErr  error
)

// BigEtcdBytes is the size of the data written into the big etcd.
const BigEtcdBytes = 512 << 20

// largeEtcd is a second etcd holding about 512 MiB of incompressible
// values, shared by the tests that need long uploads.
func largeEtcd(t *testing.T) *harness.Etcd {
	t.Helper()
	bigEtcdOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		bigEtcd, bigEtcdErr = harness.StartEtcd(ctx, workDir, "etcd-big", 4<<30)
		if bigEtcdErr != nil {
			return
		}
		bigEtcdErr = bigEtcd.Fill(ctx, BigEtcdBytes>>20)
		fmt.Fprintf(os.Stderr, "e2e: filled etcd-big with %d MiB in %.1fs\n", BigEtcdBytes>>20, time.Since(start).Seconds())
	})
	if bigEtcdErr != nil {
		t.Fatal(bigEtcdErr)
	}
	return bigEtcd
}

func readSpec(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "spec.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeSpec(t *testing.T, dir, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "spec.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// configID is the config_id specDir gives a test's spec: its serve job is
// jobs.ServePrefix + configID(t).
func configID(t *testing.T) string {
	id := strings.ToLower(strings.Trim(idChars.ReplaceAllString(t.Name(), "-"), "-"))
	if len(id) > 40 {
		id = strings.TrimRight(id[:40], "-")
	}
	return id
}

var idChars = regexp.MustCompile(`[^A-Za-z0-9-]+`)
