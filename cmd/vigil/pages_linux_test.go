package main

import (
	"os"

	"github.com/vigil-backup/vigil/hcl/parse"
	"strconv"
	"strings"
	"testing"
)

// rssFileKiB is this process's resident file-backed memory.
func rssFileKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// The test binary links the same packages as vigil: dropping the pages
// start-up mapped must shrink the resident file pages by more than half,
// and the process must go on running code and reading constants after.
func TestReleaseStartupPages(t *testing.T) {
	before := rssFileKiB(t)
	releaseStartupPages()
	after := rssFileKiB(t)
	if after*2 > before {
		t.Fatalf("resident file pages %d KiB before, %d KiB after: want less than half", before, after)
	}
	// Code and read-only data fault back in on use: the process goes on
	// to parse its spec and run, as any later test in this binary does.
	src := []byte("consul {\n  enabled = false\n}\nstorage \"local\" \"d\" {\n  path = \"/tmp/x\"\n}\nbackup \"consul_kv\" \"kv\" {\n  schedule = \"0 * * * *\"\n  storage  = storage.local.d\n}\n")
	cfg, _, diags := parse.LoadBytes("spec.hcl", src, parse.Options{})
	if diags.HasErrors() || cfg == nil || len(cfg.Backups) != 1 {
		t.Fatalf("parsing a spec after the release: %v", diags)
	}
	t.Logf("resident file pages: %d KiB before, %d KiB after", before, after)
}
