//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/tasks/record"
)

// Elasticsearch cannot be installed here: these tests run vigil against
// the harness's esfake (plugin/esfake), which answers the documented REST
// API. plugin/elasticsearch_real_test.go runs against a real cluster when
// ES_URL is set.

// esSpec declares one elasticsearch backup with its own repository.
func esSpec(t *testing.T, name, timeout, extra string) string {
	t.Helper()
	dir, _ := specDir(t, fmt.Sprintf(`
backup "elasticsearch" %q {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  timeout  = %q
  elasticsearch {
    url        = %q
    repository = %q
    indices    = ["logs-*"]
    repository_settings {
      type     = "fs"
      location = "/mnt/es-backups"
    }
    %s
  }
  %s
}`, name, timeout, stack.ES.URL, "repo-"+name, esCredentials(), extra))
	return dir
}

func TestESOnlySuccessIsGreen(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	tok := entityToken(t, ctx)
	defer stack.ES.SetOutcome("SUCCESS", 2)
	for _, state := range []string{"PARTIAL", "FAILED"} {
		name := "es-" + strings.ToLower(state)
		dir := esSpec(t, name, "1m", "")
		stack.ES.SetOutcome(state, 1)
		r := vigil(t, tok, "run", "-config", dir, "-backup", name)
		if r.code != 1 || !strings.Contains(r.stderr, "ended "+state) || !strings.Contains(r.stderr, "[logs-2026.11.20][0]") {
			t.Errorf("%s: %s", state, r)
		}
		last := lastRecord(t, name)
		if last.Status != record.Failed || !strings.Contains(last.Error, "shards failed") {
			t.Errorf("%s: record %+v", state, last)
		}
	}
}

func TestESConcurrentSnapshots(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	tok := entityToken(t, ctx)
	defer stack.ES.RejectCreates(0)
	dir := esSpec(t, "es-busy", "1m", "")
	stack.ES.RejectCreates(2)
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "es-busy"); r.code != 0 {
		t.Fatalf("two refusals then success: %s", r)
	}
	dir = esSpec(t, "es-busy-forever", "8s", "")
	stack.ES.RejectCreates(-1)
	start := time.Now()
	r := vigil(t, tok, "run", "-config", dir, "-backup", "es-busy-forever")
	if r.code != 1 || !strings.Contains(r.stderr, "could not start before the run's deadline") {
		t.Fatalf("refused forever: %s", r)
	}
	if d := time.Since(start); d < 7*time.Second {
		t.Errorf("the run gave up after %s, before its 8s timeout", d)
	}
}

func TestESRetentionRestoreVerify(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	tok := entityToken(t, ctx)
	name := "es-full"
	dir := esSpec(t, name, "1m", `
  retain {
    last = 2
  }
  verify {
    index "logs-*" {
      min_docs = 100000
    }
  }`)
	for i := 0; i < 5; i++ {
		if r := vigil(t, tok, "run", "-config", dir, "-backup", name); r.code != 0 {
			t.Fatalf("run %d: %s", i, r)
		}
	}
	if snaps := stack.ES.Snapshots("repo-" + name); len(snaps) != 2 {
		t.Errorf("after 5 runs with last = 2: %v", snaps)
	}

	before := len(stack.ES.Indices())
	// A restore runs with the operator's own credentials, from the
	// environment.
	args := []string{"restore", "-config", dir, "-backup", name, "-rename-pattern", "logs-(.+)", "-rename-replacement", "restored-$1"}
	r := vigilEnv(t, append(envFor(tok, args), "ES_USERNAME="+stack.ESUser, "ES_PASSWORD="+stack.ESPassword), args...)
	if r.code != 0 || !strings.Contains(r.stdout, "restored-2026.11.20, restored-2026.11.21") {
		t.Fatalf("restore: %s", r)
	}
	if n := len(stack.ES.Indices()); n != before+2 {
		t.Errorf("restore created %d indices, want 2", n-before)
	}

	// logs-2026.11.21 has 80,000 documents: below the 100,000 threshold.
	r = vigil(t, tok, "verify", "-config", dir, "-backup", name)
	if r.code != 1 || !strings.Contains(r.stderr, "logs-2026.11.21 has 80000 documents, expected ≥ 100000") {
		t.Fatalf("verify below the threshold: %s", r)
	}
	if v := lastVerify(t, name); v.Status != record.Failed || v.Verify == nil || len(v.Verify.Checks) != 2 {
		t.Errorf("verify record: %+v", v)
	}
	spec := filepath.Join(dir, "spec.hcl")
	b, _ := os.ReadFile(spec)
	os.WriteFile(spec, []byte(strings.Replace(string(b), "min_docs = 100000", "min_docs = 50000", 1)), 0o644)
	r = vigil(t, tok, "verify", "-config", dir, "-backup", name)
	if r.code != 0 || !strings.Contains(r.stdout, "2 checks passed") {
		t.Fatalf("verify above the threshold: %s", r)
	}
	if v := lastVerify(t, name); v.Status != record.Succeeded || v.Verify.RestoreTime <= 0 {
		t.Errorf("verify record: %+v", v)
	}
	if n := len(stack.ES.Indices()); n != before+2 {
		t.Errorf("the drills left restored indices: %v", stack.ES.Indices())
	}
}

func lastVerify(t *testing.T, name string) *record.Run {
	t.Helper()
	cc, _ := stack.Consul.Client()
	r, err := (&record.Consul{Client: cc}).Last(testContext(t, time.Minute), name, record.KindVerify)
	if err != nil || r == nil {
		t.Fatalf("no verify record for %s: %v", name, err)
	}
	return r
}
