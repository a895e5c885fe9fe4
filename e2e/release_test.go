//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/buildinfo"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-backup/vigil/e2e/harness"
)

// TestReleaseIsReproducible: `make release` twice on one commit gives the
// same archives; the binaries are static, for both architectures, and
// print a version that is not a "v" before a commit hash.
func TestReleaseIsReproducible(t *testing.T) {
	<-arm64Warmed // the arm64 compile started in TestMain
	root := harness.RepoRoot()
	version, err := exec.Command(filepath.Join(root, "scripts", "version.sh")).Output()
	if err != nil {
		t.Fatal(err)
	}
	v := strings.TrimSpace(string(version))
	var sums [2][]byte
	dirs := [2]string{t.TempDir(), t.TempDir()}
	for i, dist := range dirs {
		cmd := exec.Command("make", "--no-print-directory", "release", "DIST="+dist, "VERSION="+v)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make release: %v\n%s", err, out)
		}
		if sums[i], err = os.ReadFile(filepath.Join(dist, "SHA256SUMS")); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(sums[0], sums[1]) {
		t.Fatalf("two releases of one commit differ:\n%s\n%s", sums[0], sums[1])
	}
	for _, arch := range []string{"amd64", "arm64"} {
		name := "vigil_" + v + "_linux_" + arch + ".tar.gz"
		if !strings.Contains(string(sums[0]), "  "+name+"\n") {
			t.Errorf("SHA256SUMS has no %s:\n%s", name, sums[0])
		}
		bin := extractVigil(t, filepath.Join(dirs[0], name))
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: dynamically linked (has an interpreter)", name)
			}
		}
		if f.Machine != want {
			t.Errorf("%s: machine %v", name, f.Machine)
		}
		f.Close()
		// Built with the tags every build of vigil uses: without them the
		// GCS SDK links gRPC's DirectPath (20 MB more).
		info, err := buildinfo.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		if tags := buildSetting(info, "-tags"); tags != harness.BuildTags {
			t.Errorf("%s: built with -tags %q, want %q", name, tags, harness.BuildTags)
		}
		if arch == "amd64" {
			// A release prints as v0.2.0; anything else as it is.
			want := "vigil " + v
			if regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(v) {
				want = "vigil v" + v
			}
			out, err := exec.Command(bin, "version").Output()
			if err != nil || strings.TrimSpace(string(out)) != want {
				t.Errorf("vigil version: %q, %v; want %q", out, err, want)
			}
		}
	}
}

func buildSetting(info *buildinfo.BuildInfo, key string) string {
	for _, s := range info.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

func extractVigil(t *testing.T, archive string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s has no vigil binary: %v", archive, err)
		}
		if filepath.Base(h.Name) == "vigil" {
			out := filepath.Join(t.TempDir(), "vigil")
			w, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, tr); err != nil {
				t.Fatal(err)
			}
			w.Close()
			return out
		}
	}
}
