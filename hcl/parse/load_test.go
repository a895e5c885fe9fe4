package parse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
)

const baseSpec = `
variable "bucket" {
  type    = string
  default = "backups"
}

variable "keep" {
  type    = number
  default = 3
}

variable "endpoints" {
  type    = list(string)
  default = ["http://127.0.0.1:2379"]
}

storage "s3" "offsite" {
  bucket   = var.bucket
  prefix   = "team-a"
  endpoint = "http://127.0.0.1:9000"

  credentials {
    vault_kv_path = "secret/vigil/s3"
  }
}

backup "etcd" "main" {
  schedule = "*/5 * * * *"
  storage  = storage.s3.offsite

  etcd {
    endpoints = var.endpoints
  }

  retain {
    last    = var.keep
    max_age = "7d12h"
  }
}
`

func loadString(t *testing.T, src string, opts Options) *config.Config {
	t.Helper()
	cfg, _, diags := LoadBytes("spec.hcl", []byte(src), opts)
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics:\n%s", diags.Error())
	}
	return cfg
}

func TestDefaultsAndResolution(t *testing.T) {
	cfg := loadString(t, baseSpec, Options{})
	b, err := cfg.Backup("main")
	if err != nil {
		t.Fatal(err)
	}
	if b.Storage.Bucket != "backups" || b.Storage.Prefix != "team-a/" || b.Storage.Region != "us-east-1" {
		t.Errorf("storage not resolved with defaults: %+v", b.Storage)
	}
	if b.Storage.Credentials.Source != config.CredVaultKV || b.Storage.Credentials.VaultPath != "secret/data/vigil/s3" {
		t.Errorf("kv path not normalised to the v2 data path: %+v", b.Storage.Credentials)
	}
	if b.Retain.Last != 3 || b.Retain.MaxAge != (7*24+12)*time.Hour {
		t.Errorf("retain = %+v", b.Retain)
	}
	if b.Lock.Key != "vigil/locks/main" || b.Lock.TTL != DefaultLockTTL || b.Lock.Wait != 0 {
		t.Errorf("lock defaults = %+v", b.Lock)
	}
	if b.Timeout != DefaultTimeout || b.Compression != "zstd" {
		t.Errorf("timeout/compression defaults = %s/%s", b.Timeout, b.Compression)
	}
	if !cfg.Consul.Enabled {
		t.Errorf("control Consul should default to enabled")
	}
	if b.Nomad.Driver != config.DriverExec || b.Nomad.Binary != DefaultBinary || !b.Nomad.VaultEnabled {
		t.Errorf("nomad defaults = %+v", b.Nomad)
	}
}

func TestVarFlagsAndFiles(t *testing.T) {
	dir := t.TempDir()
	varFile := filepath.Join(dir, "prod.vars.hcl")
	os.WriteFile(varFile, []byte("bucket = \"from-file\"\nkeep = 9\n"), 0o644)

	cfg := loadString(t, baseSpec, Options{VarFiles: []string{varFile}, Vars: []string{"keep=5", `endpoints=["http://10.0.0.1:2379","http://10.0.0.2:2379"]`}})
	b, _ := cfg.Backup("main")
	if b.Storage.Bucket != "from-file" {
		t.Errorf("var file not applied: bucket=%q", b.Storage.Bucket)
	}
	if b.Retain.Last != 5 {
		t.Errorf("-var must win over -var-file: last=%d", b.Retain.Last)
	}
	if len(b.Etcd.Endpoints) != 2 {
		t.Errorf("list -var not parsed: %v", b.Etcd.Endpoints)
	}

	_, _, diags := LoadBytes("spec.hcl", []byte(baseSpec), Options{Vars: []string{"keep=many"}})
	if d := find(diags, "Invalid value for variable"); d == nil {
		t.Errorf("a non-number for a number variable must fail; got %s", diags.Error())
	}
	_, _, diags = LoadBytes("spec.hcl", []byte(baseSpec), Options{Vars: []string{"nope=1"}})
	if find(diags, "Value for undeclared variable") == nil {
		t.Errorf("an undeclared -var must fail; got %s", diags.Error())
	}
}

func TestEnvFunction(t *testing.T) {
	src := strings.Replace(baseSpec, `default = "backups"`, `default = env("VIGIL_TEST_BUCKET")`, 1)
	env := func(k string) (string, bool) {
		if k == "VIGIL_TEST_BUCKET" {
			return "env-bucket", true
		}
		return "", false
	}
	cfg := loadString(t, src, Options{LookupEnv: env})
	if b, _ := cfg.Backup("main"); b.Storage.Bucket != "env-bucket" {
		t.Errorf("env() not applied: %q", b.Storage.Bucket)
	}
	for _, name := range []string{"VAULT_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "AWS_ACCESS_KEY_ID"} {
		src := strings.Replace(baseSpec, `default = "backups"`, `default = env("`+name+`")`, 1)
		_, _, diags := LoadBytes("spec.hcl", []byte(src), Options{LookupEnv: env})
		if find(diags, "Invalid function argument") == nil {
			t.Errorf("env(%q) must be refused; got %v", name, diags)
		}
	}
}

func TestSeveralErrorsAtOnce(t *testing.T) {
	cfg, _, diags := Load(filepath.Join("testdata", "invalid", "wrong_type"), Options{})
	if cfg != nil || len(diags) < 2 {
		t.Fatalf("want both type errors reported, got %d: %s", len(diags), diags.Error())
	}
	lines := map[int]bool{}
	for _, d := range diags {
		lines[d.Subject.Start.Line] = true
	}
	if !lines[8] || !lines[11] {
		t.Errorf("want errors on lines 8 and 11, got %v", lines)
	}
}

func TestNomadOverrides(t *testing.T) {
	src := baseSpec + `
nomad {
  datacenters = ["dc1", "dc2"]
  driver      = "docker"
  image       = "vigil:1"
  priority    = 70
}

backup "consul_kv" "kv" {
  schedule = "0 * * * *"
  storage  = storage.s3.offsite
  nomad {
    driver = "raw_exec"
    image  = null
    binary = "/opt/vigil"
    resources { memory = 64 }
  }
}
`
	_, _, diags := LoadBytes("spec.hcl", []byte(src), Options{})
	// image is inherited from the defaults (null does not unset it), which
	// raw_exec cannot use: the backup block is blamed.
	kvLine := strings.Count(src[:strings.Index(src, `backup "consul_kv"`)], "\n") + 1
	if d := find(diags, "Image without docker driver"); d == nil || d.Subject.Start.Line != kvLine {
		t.Fatalf("want an image/driver conflict on the kv backup, got %s", diags.Error())
	}

	src = strings.Replace(src, "    image  = null\n", "", 1)
	src = strings.Replace(src, `  image       = "vigil:1"`, ``, 1)
	src = strings.Replace(src, `  driver      = "docker"`, ``, 1)
	cfg := loadString(t, src, Options{})
	kv, _ := cfg.Backup("kv")
	if kv.Nomad.Driver != config.DriverRawExec || kv.Nomad.Binary != "/opt/vigil" || kv.Nomad.MemoryMB != 64 ||
		kv.Nomad.CPU != DefaultCPU || kv.Nomad.Priority != 70 || len(kv.Nomad.Datacenters) != 2 {
		t.Errorf("merged nomad = %+v", kv.Nomad)
	}
	if kv.Consul == nil {
		t.Errorf("a consul_kv backup without a consul block reads the local agent; want a zero source")
	}
}

func TestDynamicBlock(t *testing.T) {
	src := strings.Replace(baseSpec, "    endpoints = var.endpoints\n", `    endpoints = var.endpoints
    dynamic "tls" {
      for_each = var.keep > 2 ? [1] : []
      content {
        ca_file = "/ca.pem"
      }
    }
`, 1)
	cfg := loadString(t, src, Options{})
	if b, _ := cfg.Backup("main"); b.Etcd.TLS == nil || b.Etcd.TLS.CAFile != "/ca.pem" {
		t.Errorf("dynamic tls block not expanded: %+v", b.Etcd)
	}
	cfg = loadString(t, src, Options{Vars: []string{"keep=1"}})
	if b, _ := cfg.Backup("main"); b.Etcd.TLS != nil {
		t.Errorf("dynamic tls block should be absent: %+v", b.Etcd.TLS)
	}
}

func TestLocalPathRelativeToSpec(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.hcl"), []byte(`storage "local" "disk" { path = "backups" }`), 0o644)
	cfg, _, diags := Load(dir, Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got, want := cfg.Storages[0].Path, filepath.Join(dir, "backups"); got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
}

func TestMissingRequired(t *testing.T) {
	_, _, diags := LoadBytes("spec.hcl", []byte(`backup "consul_kv" "x" {}`), Options{})
	n := 0
	for _, d := range diags {
		if d.Summary == "Missing required argument" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("want schedule and storage reported missing, got %s", diags.Error())
	}
}

func TestJSONRoundTrip(t *testing.T) {
	cfg, _, diags := Load(filepath.Join("..", "..", "examples"), Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var sb strings.Builder
	if err := cfg.Encode(&sb); err != nil {
		t.Fatal(err)
	}
	back, err := config.Decode(strings.NewReader(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	var again strings.Builder
	back.Encode(&again)
	if again.String() != sb.String() {
		t.Errorf("config does not survive a JSON round trip")
	}
}
