package parse

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const artifactStorage = `
storage "local" "disk" {
  path = "/var/backups"
}
`

func artifactSpec(top, own string) string {
	return artifactStorage + "nomad {\n" + top + "\n}\n" + `backup "consul_kv" "a" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  nomad {
` + own + `
  }
}
`
}

const goodSum = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// An artifact's checksum travels with it: compiled for Nomad to check, never
// inherited by another block's artifact; an http(s) artifact without one
// gets a warning.
func TestArtifactChecksum(t *testing.T) {
	cases := map[string]struct {
		top, own, wantSum, warn string
	}{
		"checked":   {`artifact = "https://r.example/vigil.tar.gz"` + "\n" + `artifact_checksum = "` + goodSum + `"`, "", goodSum, ""},
		"unchecked": {`artifact = "https://r.example/vigil.tar.gz"`, "", "", "Artifact without a checksum"},
		"empty":     {`artifact = "https://r.example/vigil.tar.gz"` + "\n" + `artifact_checksum = ""`, "", "", "Artifact without a checksum"},
		"file":      {`artifact = "/opt/vigil.tar.gz"`, "", "", ""},
		// A backup's own artifact does not take the default's checksum.
		"own artifact": {`artifact = "https://r.example/a.tar.gz"` + "\n" + `artifact_checksum = "` + goodSum + `"`,
			`artifact = "https://r.example/b.tar.gz"`, "", "Artifact without a checksum"},
	}
	for name, c := range cases {
		diags := loadProtected(t, artifactSpec(c.top, c.own))
		cfg := loadString(t, artifactSpec(c.top, c.own), Options{})
		if got := cfg.Backups[0].Nomad.ArtifactChecksum; got != c.wantSum {
			t.Errorf("%s: checksum %q, want %q", name, got, c.wantSum)
		}
		switch {
		case c.warn == "" && len(diags) != 0:
			t.Errorf("%s: unexpected %s", name, diags.Error())
		case c.warn != "" && (len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || !strings.Contains(diags[0].Summary, c.warn) || diags[0].Subject == nil):
			t.Errorf("%s: want one warning %q, got %v", name, c.warn, diags)
		}
	}
}
