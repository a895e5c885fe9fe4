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
		{"wrong_type", "Unsuitable value type", "spec.hcl", 11, 18, "list of string required"},
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
