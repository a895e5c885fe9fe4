//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/tasks/record"
)

// TestDrillFailureTakesOneBackupThroughNomad: a forced backup job whose
// drill fails (after_backup) leaves exactly one backup for that period:
// the allocation completes without a restart or a reschedule, the run is
// recorded as drill_failed, the older backup retention would have dropped
// is still there, and vigil status says the backup is unhealthy.
func TestDrillFailureTakesOneBackupThroughNomad(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 10*time.Minute)
	cc, _ := stack.Consul.Client()
	cc.KV().Put(kvPair("stages/a", "1"), nil)
	name := "stages-drill-fails"
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "consul_kv" %q {
  schedule = "0 0 1 1 *"
  storage  = storage.s3.sts
  %s
  retain {
    last = 1
  }
  verify {
    after_backup = true
    max_duration = "2m"
    key "stages/never-written" {}
    scratch {
      consul = %q
    }
  }
}`, name, consulSource(t, stack.Consul.URL(), "stages/"), tool("consul")))
	tok := entityToken(t, ctx)
	// One earlier backup (its drill fails too), which retention (last = 1)
	// would delete.
	if r := vigil(t, tok, "run", "-verify", "-config", dir, "-backup", name); r.code != 0 || !strings.Contains(r.stderr, "drill FAILED") {
		t.Fatalf("run by hand: %s", r)
	}
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	alloc, err := stack.Nomad.ForceRun(ctx, "vigil-"+name, 4*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if alloc.ClientStatus != "complete" || alloc.TaskStates["vigil"] == nil || alloc.TaskStates["vigil"].Restarts != 0 {
		t.Fatalf("allocation %s: %s\n%s", alloc.ID, alloc.ClientStatus, stack.Nomad.Explain(alloc))
	}
	// Nomad would restart a failed task after 30 s; give it the time to
	// prove it does not.
	time.Sleep(35 * time.Second)
	nc, _ := stack.Nomad.Client()
	allocs, _, err := nc.Jobs().Allocations(alloc.JobID, true, nil)
	if err != nil || len(allocs) != 1 || allocs[0].ClientStatus != "complete" {
		t.Fatalf("allocations of %s: %d (%v)", alloc.JobID, len(allocs), err)
	}
	if ms := manifests(t, ctx, prefix, name); len(ms) != 2 {
		t.Fatalf("backups after a run by hand and one forced run whose drill failed: %d, want 2 (%v)", len(ms), ms)
	}
	last := lastRecord(t, name)
	if last.Status != record.DrillFailed || last.Drill == nil || last.Drill.Passed || !strings.Contains(last.Error, "stages/never-written missing") {
		t.Fatalf("record: %+v", last)
	}
	if r := vigil(t, "", "status", "-config", dir, name); r.code != 2 {
		t.Fatalf("status of a backup whose drill failed: %s", r)
	}
}

// TestNeverRanIsOverdue: a backup registered three hours ago that never
// ran is overdue: vigil status exits 2 and /v1/status answers 503.
func TestNeverRanIsOverdue(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 2*time.Minute)
	name := "stages-never-ran"
	dir, _ := specDir(t, fmt.Sprintf(`
backup "consul_kv" %q {
  schedule = "0 * * * *"
  grace    = "5m"
  storage  = storage.s3.sts
  %s
}`, name, consulSource(t, stack.Consul.URL(), "stages/")))
	cc, _ := stack.Consul.Client()
	if err := (&record.Consul{Client: cc}).Register(ctx, name, time.Now().Add(-3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	r := vigil(t, "", "status", "-config", dir, name)
	if r.code != 2 || !strings.Contains(r.stdout, "overdue") {
		t.Fatalf("status of a backup that never ran since its registration: %s", r)
	}
	url := startServe(t, dir)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/v1/status/" + name)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var st struct {
			Overdue bool `json:"overdue"`
		}
		json.Unmarshal(body, &st)
		if resp.StatusCode == http.StatusServiceUnavailable && st.Overdue {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/v1/status/%s: %d %s", name, resp.StatusCode, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestApplyRecordsRegistration: apply notes when each backup was first
// registered, once.
func TestApplyRecordsRegistration(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	name := "stages-registered"
	dir, _ := specDir(t, fmt.Sprintf(`
backup "consul_kv" %q {
  schedule = "0 0 1 1 *"
  storage  = storage.s3.sts
  %s
}`, name, consulSource(t, stack.Consul.URL(), "stages/")))
	before := time.Now()
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	cc, _ := stack.Consul.Client()
	book := &record.Consul{Client: cc}
	reg, err := book.Registered(context.Background(), name)
	if err != nil || reg == nil || reg.Before(before.Add(-time.Second)) || reg.After(time.Now()) {
		t.Fatalf("registered %v, %v", reg, err)
	}
}
