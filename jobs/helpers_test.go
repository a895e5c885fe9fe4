package jobs

import (
	"testing"

	"github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/hcl/parse"
)

func compileFile(t *testing.T, path string) []*api.Job {
	t.Helper()
	cfg, _, diags := parse.Load(path, parse.Options{})
	if diags.HasErrors() {
		t.Fatalf("%s: %s", path, diags.Error())
	}
	out, err := Compile(cfg, Options{Version: "0.0.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
