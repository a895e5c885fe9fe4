package parse

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// Every broken spec in testdata/invalid must fail with a diagnostic whose
// Subject points at the offending source, not merely fail.
func TestInvalidSpecs(t *testing.T) {
	cases := []struct {
		dir, summary, file string
		line, col          int
		detail             string
	}{
		{"wrong_type", "Wrong type for endpoints", "spec.hcl", 11, 18, "endpoints takes a list of strings in brackets"},
		{"dangling_storage", "Reference to undeclared storage", "spec.hcl", 7, 14, `No storage "s3" "offsite"`},
		{"wrong_kind_reference", "Invalid storage reference", "spec.hcl", 7, 14, `reference to "var"`},
		{"invalid_cron", "Invalid cron schedule", "spec.hcl", 6, 14, "minute field"},
		{"duplicate_across_files", "Duplicate backup name", "b.hcl", 1, 20, "a.hcl:5"},
		{"unknown_attribute", "Unsupported argument", "spec.hcl", 8, 3, `"retention"`},
		{"unknown_block", "Unsupported block type", "spec.hcl", 9, 3, `"notify"`},
		{"invalid_duration", "Invalid duration", "spec.hcl", 8, 14, `"ten minutes"`},
		{"invalid_time_zone", "Invalid time zone", "spec.hcl", 7, 15, "Mars/Olympus"},
		{"conflicting_credentials", "Conflicting credential sources", "spec.hcl", 6, 5, "vault_aws_path"},
		{"retention_keeps_nothing", "Retention keeps nothing", "spec.hcl", 9, 3, "keeps no backup"},
		{"assertion_wrong_type", "Assertion does not fit the backup type", "spec.hcl", 10, 5, "elasticsearch"},
		{"unknown_backup_type", "Unsupported backup type", "spec.hcl", 5, 8, `"postgres"`},
		{"secret_from_env", "Invalid function argument", "spec.hcl", 2, 15, "looks like a secret"},
		{"secret_env_suffix", "Invalid function argument", "spec.hcl", 2, 15, `ends in "PWD"`},
		{"lock_key_in_records", "Invalid lock key", "spec.hcl", 9, 11, "run records"},
		{"download_concurrency_range", "Invalid value for download_concurrency", "spec.hcl", 6, 26, "between 1"},
		{"checksum_bad", "Invalid artifact checksum", "spec.hcl", 7, 23, "64 hex digits"},
		{"checksum_without_artifact", "Checksum without artifact", "spec.hcl", 13, 25, "same nomad block"},
		{"serve_docker_no_image", "Missing docker image", "spec.hcl", 5, 1, "vigil-serve"},
		{"not_text", "Spec file is not text", "spec.hcl", 2, 27, "not UTF-8 text"},
		{"lock_key_dotdot", "Invalid lock key", "spec.hcl", 9, 11, `".."`},
		{"es_upper_prefix", "Invalid snapshot_prefix", "spec.hcl", 11, 23, "lower case"},
		{"es_repository_chars", "Invalid repository", "spec.hcl", 10, 18, "refuses in names"},
		{"es_url_userinfo", "Credentials in Elasticsearch URL", "spec.hcl", 9, 18, "user info"},
		{"config_id_invalid", "Invalid config_id", "spec.hcl", 1, 13, "lower-case"},
		{"target_creds_wrong_source", "Credential source does not fit the backup", "spec.hcl", 11, 7, "vault_consul_path"},
		{"target_creds_bad_path", "Invalid Vault path", "spec.hcl", 12, 24, "pki/issue/ROLE"},
		{"target_creds_common_name", "Unexpected common_name", "spec.hcl", 11, 7, "only applies to vault_pki_path"},
		{"target_creds_empty", "No credential source", "spec.hcl", 11, 5, "vault_kv_path"},
		{"etcd_pki_without_tls", "Client certificate without TLS", "spec.hcl", 8, 3, "ca_file"},
		{"tls_cert_without_key", "Incomplete TLS client certificate", "spec.hcl", 1, 1, "key_file"},
		{"nomad_job_setting_in_source", "Job setting in a nomad_snapshot's nomad block", "spec.hcl", 10, 5, "top-level nomad block"},
		{"vault_assertions_without_unseal", "Assertions without a way to unseal", "spec.hcl", 10, 5, "unseal_keys_file"},
		{"nomad_assertion_wrong_type", "Assertion does not fit the backup type", "spec.hcl", 13, 5, "nomad_snapshot"},
		{"vault_block_wrong_type", "Unexpected vault block", "spec.hcl", 11, 3, "etcd backup"},
		{"network_mode_exec", "network_mode without docker driver", "spec.hcl", 5, 1, "only applies to the docker driver"},
		{"env_secret", "Secret in env", "spec.hcl", 6, 9, `"AWS_SECRET_ACCESS" looks like a secret`},
		{"host_volume_relative", "Invalid host_volume path", "spec.hcl", 6, 3, "must be absolute"},
		{"s3_no_credentials", "Missing credentials block", "spec.hcl", 1, 1, "exactly one of"},
		{"run_history_zero", "Invalid run_history", "spec.hcl", 2, 17, "1 to 10000"},
		{"transit_without_recovery", "Missing recovery_keys_file", "spec.hcl", 10, 5, "recovery keys"},
	}
	for _, tc := range cases {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", "invalid", tc.dir)
			cfg, _, diags := Load(dir, Options{})
			if cfg != nil {
				t.Fatalf("Load returned a config despite errors")
			}
			d := find(diags, tc.summary)
			if d == nil {
				t.Fatalf("no %q diagnostic; got:\n%s", tc.summary, diags.Error())
			}
			if d.Subject == nil {
				t.Fatalf("%q has no source range", tc.summary)
			}
			want := filepath.Join(dir, tc.file)
			if d.Subject.Filename != want || d.Subject.Start.Line != tc.line || d.Subject.Start.Column != tc.col {
				t.Errorf("range = %s:%d:%d, want %s:%d:%d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, want, tc.line, tc.col)
			}
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q does not mention %q", d.Detail, tc.detail)
			}
		})
	}
}

func find(diags hcl.Diagnostics, summary string) *hcl.Diagnostic {
	for _, d := range diags {
		if d.Summary == summary {
			return d
		}
	}
	return nil
}

// TestURLPasswordNeverEchoed: a URL with a password is refused without
// printing the password.
func TestURLPasswordNeverEchoed(t *testing.T) {
	_, _, diags := Load(filepath.Join("testdata", "invalid", "es_url_userinfo"), Options{})
	if strings.Contains(diags.Error(), "hunter2") {
		t.Fatalf("the password reached a diagnostic: %s", diags.Error())
	}
}

// TestDefaultSnapshotPrefixIsLowerCase: a backup named ES-Main validates
// and gets a prefix Elasticsearch accepts.
func TestDefaultSnapshotPrefixIsLowerCase(t *testing.T) {
	cfg, _, diags := LoadBytes("spec.hcl", []byte(`
storage "local" "disk" {
  path = "/var/backups/vigil"
}
backup "elasticsearch" "ES-Main" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  elasticsearch {
    url        = "http://127.0.0.1:9200"
    repository = "backups"
  }
}`), Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := cfg.Backups[0].Elasticsearch.SnapshotPrefix; got != "vigil-es-main" {
		t.Fatalf("prefix %q", got)
	}
}

// One mistake gives one error: not a second one about what the first
// left out (a storage refused, a retention setting of the wrong type), and
// not one per byte of a file that is not text.
func TestNoFollowOnErrors(t *testing.T) {
	const head = "consul {\n  enabled = false\n}\n"
	cases := map[string]struct{ src, summary string }{
		"storage refused": {head + `storage "local" "disk" {
  path = ""
}
backup "consul_kv" "a" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
}
`, "Invalid local path"},
		"storage name refused": {head + `storage "local" "-disk" {
  path = "/b"
}
backup "consul_kv" "a" {
  schedule = "0 * * * *"
  storage  = storage.local.-disk
}
`, ""},
		"retention of the wrong type": {head + `storage "local" "disk" {
  path = "/b"
}
backup "consul_kv" "a" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  retain {
    last = "ten"
  }
}
`, "Wrong type for last"},
		"binary": {"\x7fELF\x02\x01\x01\x00\x00\x00garbage\xff\xfe", "Spec file is not text"},
	}
	for name, c := range cases {
		_, _, diags := LoadBytes("spec.hcl", []byte(c.src), Options{})
		var errs hcl.Diagnostics
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				errs = append(errs, d)
			}
		}
		if c.summary == "" {
			if len(errs) == 0 {
				t.Errorf("%s: accepted", name)
			}
			continue
		}
		if len(errs) != 1 || errs[0].Summary != c.summary {
			t.Errorf("%s: want one error %q, got %d:\n%s", name, c.summary, len(errs), errs.Error())
		}
	}
}
