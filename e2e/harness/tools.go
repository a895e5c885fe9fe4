// Package harness starts real Nomad, Consul, Vault, etcd and MinIO servers
// on 127.0.0.1 for the e2e tests, the demo and the benchmarks.
//
// The binaries come from scripts/tools.sh (make tools), built from pinned Go
// modules into a per-user cache. Nothing here listens on, or connects to,
// any address but 127.0.0.1.
package harness

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrToolMissing is wrapped by Tool when a binary has not been built.
var ErrToolMissing = errors.New("tool not built; run `make tools`")

// RepoRoot finds the repository root from this source file's location, so
// tests and programs work from any directory. Built with -trimpath (as
// make test builds the e2e suite, to share its compiles with the image and
// release builds) the location is only the package's import path; then it
// is the folder above the working directory that holds vigil's go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	if filepath.IsAbs(file) {
		return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	}
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/vigil-backup/vigil\n") {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// ToolsDir is where scripts/tools.sh puts binaries.
func ToolsDir() string {
	if d := os.Getenv("VIGIL_TOOLS_DIR"); d != "" {
		return d
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "vigil", "tools")
}

// Versions reads e2e/tools.versions: name -> the version part of its
// folder name (the version, and -TAGS when built with tags=TAGS).
func Versions() (map[string]string, error) {
	f, err := os.Open(filepath.Join(RepoRoot(), "e2e", "tools.versions"))
	if err != nil {
		return nil, fmt.Errorf("harness: read tool versions: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		v := fields[2]
		for _, f := range fields[3:] {
			if tags, ok := strings.CutPrefix(f, "tags="); ok {
				v += "-" + tags // scripts/tools.sh's folder name
			}
		}
		out[fields[0]] = v
	}
	return out, sc.Err()
}

// Tool returns the path of a pinned binary, or an error wrapping
// ErrToolMissing that names the expected path.
func Tool(name string) (string, error) {
	vs, err := Versions()
	if err != nil {
		return "", err
	}
	v, ok := vs[name]
	if !ok {
		return "", fmt.Errorf("harness: no tool %q in e2e/tools.versions", name)
	}
	p := filepath.Join(ToolsDir(), name+"-"+v, name)
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return "", fmt.Errorf("harness: %s %s not found at %s: %w", name, v, p, ErrToolMissing)
	}
	return p, nil
}
