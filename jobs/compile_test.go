package jobs

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden pins the compiled jobs of every testdata/*.hcl spec, in both
// renderings. Run with -update after an intended change and review the diff.
func TestGolden(t *testing.T) {
	specs, _ := filepath.Glob(filepath.Join("testdata", "specs", "*.hcl"))
	if len(specs) == 0 {
		t.Fatal("no specs in testdata")
	}
	for _, spec := range specs {
		name := strings.TrimSuffix(filepath.Base(spec), ".hcl")
		t.Run(name, func(t *testing.T) {
			var js, hcl bytes.Buffer
			for _, job := range compileFile(t, spec) {
				b, err := RenderJSON(job)
				if err != nil {
					t.Fatal(err)
				}
				js.Write(b)
				hcl.Write(RenderHCL(job))
			}
			golden(t, filepath.Join("testdata", name+".golden.json"), js.Bytes())
			golden(t, filepath.Join("testdata", name+".golden.nomad.hcl"), hcl.Bytes())
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./jobs -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the compiled output; run go test ./jobs -update and review the diff", path)
	}
}
