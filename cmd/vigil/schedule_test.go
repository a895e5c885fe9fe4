package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func scheduleSpec(t *testing.T, schedule, tz string) string {
	t.Helper()
	dir := t.TempDir()
	src := `
consul {
  enabled = false
}
storage "local" "disk" {
  path        = "/var/backups"
  host_volume = "backups"
}
backup "consul_kv" "kv" {
  schedule  = "` + schedule + `"
  time_zone = "` + tz + `"
  storage   = storage.local.disk
}
`
	if err := os.WriteFile(filepath.Join(dir, "spec.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A 6- or 7-field schedule validates with a warning saying how Nomad
// reads it; validate -v prints the next three runs in the backup's zone.
func TestCronFieldsAndNextRuns(t *testing.T) {
	for schedule, want := range map[string]string{
		"0 */5 * * * *":   "the last field is the year",
		"0 0 */5 * * * *": "seven fields as second, minute",
		"*/15 * * * *":    "",
	} {
		code, _, errs := vigil(t, "", "validate", scheduleSpec(t, schedule, "UTC"))
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", schedule, code, errs)
		}
		if want == "" && strings.Contains(errs, "Warning") || want != "" && !strings.Contains(errs, want) {
			t.Errorf("%q: warnings %q, want %q", schedule, errs, want)
		}
	}
	code, out, errs := vigil(t, "", "validate", "-v", scheduleSpec(t, "30 2 * * *", "Europe/Berlin"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	runs := regexp.MustCompile(`\d{4}-\d\d-\d\d 02:30 CES?T`).FindAllString(out, -1)
	if !strings.Contains(out, "Europe/Berlin") || len(runs) != 3 {
		t.Errorf("next runs in Berlin time: %q", out)
	}
	if _, out, _ := vigil(t, "", "validate", scheduleSpec(t, "30 2 * * *", "UTC")); strings.Contains(out, "Next runs") {
		t.Errorf("next runs printed without -v to a pipe: %q", out)
	}
}
