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
// the given backups; runs `vigil setup -apply` on it with the bootstrap
// tokens; and mints the tokens vigil processes of the spec run with, from
// what setup wrote (see setupSpec). It returns the directory and the
// prefix.
func specDir(t *testing.T, backups string) (string, string) {
	t.Helper()
	return specDirVia(t, stack.Consul.URL(), stack.MinIO.Endpoint(), backups)
}

// specDirVia is specDir with another control Consul address and S3
// endpoint: a proxy in front of the real one.
//
// Its jobs use raw_exec on purpose: it runs the binary this suite just
// built from its host path, with no archive or image to make per test,
// and sees the harness's CA where the spec names it. The drivers operators
// deploy with are proven on their own: exec with a checksummed artifact
// (drivers_test.go) and docker with the image (docker_test.go).
func specDirVia(t *testing.T, control, s3Endpoint, backups string) (string, string) {
	t.Helper()
	prefix := fmt.Sprintf("e2e/%s-%d/", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	src := controlBlocks(t, control) + fmt.Sprintf(`
nomad {
  datacenters = ["dc1"]
  driver      = "raw_exec"
  binary      = %q
  vault {
    role = %q
  }
}
`, vigilBin, "vigil-"+configID(t))
	src += storages(prefix, s3Endpoint)
	src += backups
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spec.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	setupSpec(t, dir, configID(t))
	return dir, prefix
}

// controlBlocks are the test configuration's ID and its control Consul
// and Vault blocks.
func controlBlocks(t *testing.T, control string) string {
	return fmt.Sprintf(`
config_id = %q

consul {
  address = %q
  %s
}

vault {
  address = %q
  %s
}
`, configID(t), control, caFile(), stack.Vault.URL(), caFile())
}

// storages are one S3 storage per credential source under prefix.
func storages(prefix, endpoint string) string {
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
`, name, harness.Bucket, prefix, endpoint, creds)
	}
	return storage("sts", `vault_identity_sts { role = "`+harness.OIDCRole+`" }`) +
		storage("kv", `vault_kv_path = "`+harness.KVPath+`"`) +
		storage("aws", `vault_aws_path = "aws/creds/`+harness.AWSRole+`"`) +
		storage("awssts", `vault_aws_path = "aws/sts/`+harness.AWSSTSRole+`"`)
}

// caFile is the ca_file attribute pointing at the harness CA ("" in the
// open lab).
func caFile() string {
	if stack.Sec == nil {
		return ""
	}
	return fmt.Sprintf("ca_file = %q", stack.Sec.CA.File)
}

// consulSource is the consul block of a backup reading address (the
// harness Consul, or a proxy in front of it): the CA, and a token from
// Vault's Consul secrets engine under the test configuration's role, which
// vigil setup writes with exactly the rules the backups need.
func consulSource(t *testing.T, address, prefix string) string {
	p := ""
	if prefix != "" {
		p = fmt.Sprintf("prefix  = %q", prefix)
	}
	return fmt.Sprintf(`consul {
    address = %q
    %s
    %s
    credentials {
      vault_consul_path = "consul/creds/%s"
    }
  }`, address, p, caFile(), configID(t))
}

// etcdSource is the etcd block of a backup reading endpoints: the CA, and
// a client certificate for the user vigil from Vault's PKI engine.
func etcdSource(t *testing.T, endpoints ...string) string {
	q := make([]string, len(endpoints))
	for i, e := range endpoints {
		q[i] = fmt.Sprintf("%q", e)
	}
	return fmt.Sprintf(`etcd {
    endpoints = [%s]
    %s
    credentials {
      vault_pki_path = "pki/issue/%s"
      common_name    = "vigil"
    }
  }`, strings.Join(q, ", "), caFile(), configID(t))
}

// esCredentials is the credentials block of an elasticsearch backup of
// the fake cluster: its user, from Vault KV.
func esCredentials() string {
	return fmt.Sprintf("credentials {\n      vault_kv_path = %q\n    }", harness.ESKVPath)
}

// specTokens are the tokens of each spec directory, by directory.
var specTokens sync.Map

// setupSpec runs `vigil setup -apply` on the spec directory with the
// bootstrap tokens, then mints what its vigil processes run with, all from
// what setup wrote: a Consul token with the configuration's role, a Nomad
// token with its operator policy, and a Vault entity token with its
// policy. Nothing a vigil process runs with is a management token.
func setupSpec(t *testing.T, dir, id string, vars ...string) harness.Tokens {
	t.Helper()
	return setupSpecOn(t, dir, id, stack.Consul, vars...)
}

// setupSpecOn is setupSpec for a spec whose control Consul is control.
func setupSpecOn(t *testing.T, dir, id string, control *harness.Consul, vars ...string) harness.Tokens {
	t.Helper()
	tok, err := stack.SetupConfig(context.Background(), vigilBin, dir, id, control, vars...)
	if err != nil {
		t.Fatal(err)
	}
	specTokens.Store(dir, tok)
	return tok
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
		bigEtcd, bigEtcdErr = harness.StartEtcd(ctx, workDir, "etcd-big", 4<<30, stack.Sec)
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
