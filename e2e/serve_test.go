//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/jobs"
	"github.com/vigil-backup/vigil/tasks/health"
)

// runningAllocs lists the running allocations of a job.
func runningAllocs(t *testing.T, id string) []*nomad.AllocationListStub {
	t.Helper()
	nc, _ := stack.Nomad.Client()
	allocs, _, err := nc.Jobs().Allocations(id, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []*nomad.AllocationListStub
	for _, a := range allocs {
		if a.ClientStatus == "running" {
			out = append(out, a)
		}
	}
	return out
}

// waitRunning waits (2 min at most) until job id has n running
// allocations, and returns them.
func waitRunning(t *testing.T, id string, n int) []*nomad.AllocationListStub {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if allocs := runningAllocs(t, id); len(allocs) == n {
			return allocs
		}
	}
	t.Fatalf("%s never ran %d allocations", id, n)
	return nil
}

// TestTwoServeAllocations: the compiled vigil-serve job with count = 2
// leaves exactly one service and one check per backup; when the leading
// allocation stops, the other takes over and keeps the check current.
func TestTwoServeAllocations(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 10*time.Minute)
	tok := entityToken(t, ctx)
	node := "vigil-pair"
	dir, _ := specDir(t, fmt.Sprintf(`
serve {
  count = 2
  node  = %q
}

backup "consul_kv" "pair-kv" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}`, node, consulSource(t, stack.Consul.URL(), "")))
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	waitRunning(t, jobs.ServePrefix+configID(t), 2)
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "pair-kv"); r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	waitCheck(t, node, health.CheckID("pair-kv"), "passing", time.Minute)

	cc, _ := stack.Consul.Client()
	assertOne := func() {
		t.Helper()
		catNode, _, err := cc.Catalog().Node(node, nil)
		if err != nil || catNode == nil || len(catNode.Services) != 1 {
			t.Fatalf("node %s: %+v %v", node, catNode, err)
		}
		checks, _, _ := cc.Health().Node(node, nil)
		if len(checks) != 1 || checks[0].CheckID != health.CheckID("pair-kv") {
			t.Fatalf("want exactly one check, got %d: %+v", len(checks), checks)
		}
		instances, _, _ := cc.Catalog().Service("vigil", "", nil)
		n := 0
		for _, in := range instances {
			if in.Node == node {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d vigil service instances on %s", n, node)
		}
	}
	assertOne()

	pair, _, err := cc.KV().Get(health.LeaderKey(node), nil)
	if err != nil || pair == nil || pair.Session == "" {
		t.Fatalf("no leader: %+v %v", pair, err)
	}
	var leader string
	for _, a := range runningAllocs(t, jobs.ServePrefix+configID(t)) {
		if strings.Contains(string(pair.Value), a.ID) {
			leader = a.ID
		}
	}
	if leader == "" {
		t.Fatalf("the leader %q is not a running allocation", pair.Value)
	}
	nc, _ := stack.Nomad.Client()
	if _, err := nc.Allocations().Stop(&nomad.Allocation{ID: leader}, nil); err != nil {
		t.Fatal(err)
	}
	// The survivor must pick up: a new failing run turns the check
	// critical only if some leader writes it.
	// Point the backup (not the control Consul) at a dead address.
	broken := strings.Replace(readSpec(t, dir), "    address = \""+stack.Consul.URL(), "    address = \"http://127.0.0.1:1", 1)
	writeSpec(t, dir, broken)
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "pair-kv"); r.code != 1 {
		t.Fatalf("run against a dead Consul: %s", r)
	}
	waitCheck(t, node, health.CheckID("pair-kv"), "critical", time.Minute)
	assertOne()
	if p, _, _ := cc.KV().Get(health.LeaderKey(node), nil); p == nil || strings.Contains(string(p.Value), leader) {
		t.Errorf("leadership did not move from %s: %+v", leader, p)
	}
}
