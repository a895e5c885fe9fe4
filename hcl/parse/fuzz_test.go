package parse

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// FuzzLoad feeds arbitrary bytes to the decoder. It must never panic, and it
// must never return a config together with an error.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*.hcl"))
	invalid, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*", "*.hcl"))
	for _, p := range append(seeds, invalid...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(baseSpec))
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, _, diags := LoadBytes("fuzz.hcl", src, Options{LookupEnv: func(string) (string, bool) { return "", false }})
		if cfg != nil && diags.HasErrors() {
			t.Fatalf("config returned with errors: %s", diags.Error())
		}
		for _, d := range diags {
			if d.Severity == hcl.DiagError && d.Summary == "" {
				t.Fatalf("error diagnostic without a summary: %#v", d)
			}
		}
	})
}
