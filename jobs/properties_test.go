package jobs

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/hcl/parse"
)

func TestCompileIsDeterministic(t *testing.T) {
	spec := filepath.Join("..", "examples")
	var first [][]byte
	for i := 0; i < 5; i++ {
		var out [][]byte
		for _, job := range compileFile(t, spec) {
			b, err := RenderJSON(job)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b, RenderHCL(job))
		}
		if i == 0 {
			first = out
			continue
		}
		for j := range out {
			if !bytes.Equal(out[j], first[j]) {
				t.Fatalf("compile %d differs from the first", i)
			}
		}
	}
}

func TestBackupJobShape(t *testing.T) {
	for _, job := range compileFile(t, filepath.Join("testdata", "specs", "docker_kv.hcl")) {
		if strings.HasPrefix(*job.ID, ServePrefix) {
			continue
		}
		if *job.ID != "vigil-app-config" || *job.Type != "batch" {
			t.Errorf("id/type = %s/%s", *job.ID, *job.Type)
		}
		p := job.Periodic
		if p == nil || !*p.Enabled || *p.SpecType != "cron" || !*p.ProhibitOverlap || p.Specs[0] != "*/10 * * * *" || *p.TimeZone != "Europe/Berlin" {
			t.Errorf("periodic = %+v", p)
		}
		if job.Meta[MetaSpecHash] == "" || job.Meta[MetaVersion] != "0.0.0-test" || job.Meta[MetaManaged] != "true" {
			t.Errorf("meta = %v", job.Meta)
		}
		task := job.TaskGroups[0].Tasks[0]
		if task.Vault == nil || task.Vault.Role != "vigil-backup" {
			t.Errorf("a vault_aws_path backup needs the task's vault identity: %+v", task.Vault)
		}
		if task.Consul == nil {
			t.Errorf("nomad { consul {} } should give the task a consul block")
		}
		rp, rs := job.TaskGroups[0].RestartPolicy, job.TaskGroups[0].ReschedulePolicy
		if *rp.Mode != "fail" || *rp.Attempts > 2 || *rs.Unlimited || *rs.Attempts > 2 {
			t.Errorf("restart/reschedule must be bounded: %+v %+v", rp, rs)
		}
		cfg := embedded(t, *task.Templates[0].EmbeddedTmpl)
		b := cfg.Backups[0]
		if len(cfg.Backups) != 1 || b.Name != "app-config" || b.Consul.Prefix != "app/" || b.Storage.Credentials.VaultPath != "aws/sts/vigil" {
			t.Errorf("embedded config = %+v", cfg)
		}
	}
	for _, job := range compileFile(t, filepath.Join("testdata", "specs", "raw_exec_local.hcl")) {
		task := job.TaskGroups[0].Tasks[0]
		if task.Vault != nil {
			t.Errorf("a local-storage backup needs no Vault identity")
		}
		if task.Config["command"] != "/opt/vigil/bin/vigil" {
			t.Errorf("command = %v", task.Config["command"])
		}
	}
}

// The spec hash must change with anything the run reads, and only then.
func TestSpecHashFollowsTheSpec(t *testing.T) {
	src := `
storage "local" "d" {
  path        = "/b"
  host_volume = "b"
}
backup "consul_kv" "kv" {
  schedule = "0 * * * *"
  storage  = storage.local.d
  retain { last = RETAIN }
}`
	hash := func(last string) string {
		cfg, _, diags := parse.LoadBytes("s.hcl", []byte(strings.Replace(src, "RETAIN", last, 1)), parse.Options{})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		js, err := Compile(cfg, Options{Version: "x"})
		if err != nil {
			t.Fatal(err)
		}
		return js[0].Meta[MetaSpecHash]
	}
	if hash("3") != hash("3") {
		t.Error("same spec, different hash")
	}
	if hash("3") == hash("4") {
		t.Error("retention changed but the hash did not")
	}
}

func embedded(t *testing.T, data string) *config.Config {
	t.Helper()
	cfg, err := config.Decode(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestServeJob(t *testing.T) {
	var serve, backups int
	for _, job := range compileFile(t, filepath.Join("..", "examples")) {
		if !strings.HasPrefix(*job.ID, ServePrefix) {
			backups++
			continue
		}
		serve++
		if *job.Type != "service" || job.Periodic != nil || job.Meta[MetaRole] != "serve" {
			t.Errorf("serve job: %+v", job)
		}
		task := job.TaskGroups[0].Tasks[0]
		if task.Vault != nil {
			t.Error("serve needs no Vault identity")
		}
		cfg := embedded(t, *task.Templates[0].EmbeddedTmpl)
		if len(cfg.Backups) != 7 || !cfg.Consul.Enabled {
			t.Errorf("serve's config holds %d backups", len(cfg.Backups))
		}
		if len(job.TaskGroups[0].Networks) != 1 || job.TaskGroups[0].Networks[0].DynamicPorts[0].Label != "http" {
			t.Errorf("serve has no http port: %+v", job.TaskGroups[0].Networks)
		}
	}
	if serve != 1 || backups != 13 {
		t.Errorf("%d serve jobs and %d others", serve, backups)
	}
	for _, job := range compileFile(t, filepath.Join("testdata", "specs", "raw_exec_local.hcl")) {
		if strings.HasPrefix(*job.ID, ServePrefix) {
			t.Error("a standalone config (consul disabled) has no serve job")
		}
	}
}

// The serve job of a spec with no nomad block runs the default binary (it
// had command = "", which Nomad accepts and cannot start); every compiled
// task has something to run.
func TestEveryTaskHasACommand(t *testing.T) {
	dir := t.TempDir()
	spec := `
storage "s3" "s" {
  bucket = "b"
  credentials {
    environment = true
  }
}

backup "consul_kv" "kv" {
  schedule = "0 * * * *"
  storage  = storage.s3.s
}
`
	if err := os.WriteFile(filepath.Join(dir, "spec.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	jobs := compileFile(t, dir)
	if len(jobs) != 2 {
		t.Fatalf("%d jobs", len(jobs))
	}
	for _, job := range jobs {
		c := job.TaskGroups[0].Tasks[0].Config
		if c["command"] == "" || c["command"] == nil {
			t.Errorf("%s: no command: %v", *job.ID, c)
		}
	}
	bad := config.Nomad{Driver: config.DriverDocker}
	if err := checkCommand("vigil-serve-x", bad); err == nil || !strings.Contains(err.Error(), "no image") {
		t.Errorf("docker without an image: %v", err)
	}
}
