package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -from names one of the backup's storages; any other name is refused,
// naming the storages there are.
func TestFromMustNameAStorageOfTheBackup(t *testing.T) {
	dir := t.TempDir()
	spec := `
consul {
  enabled = false
}

storage "local" "a" {
  path = "` + filepath.Join(dir, "a") + `"
}

storage "local" "b" {
  path = "` + filepath.Join(dir, "b") + `"
}

backup "etcd" "x" {
  schedule = "0 * * * *"
  storage  = [storage.local.a, storage.local.b]
  etcd { endpoints = ["http://127.0.0.1:1"] }
}
`
	if err := os.WriteFile(filepath.Join(dir, "spec.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"prune", "list", "verify"} {
		code, _, errs := vigil(t, "", cmd, "-config", dir, "-backup", "x", "-from", "nowhere")
		if code != 1 || !strings.Contains(errs, "-from nowhere") || !strings.Contains(errs, "a, b") {
			t.Errorf("%s -from nowhere: exit %d, %q", cmd, code, errs)
		}
	}
}
