//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/health"
	"github.com/vigil-backup/vigil/tasks/record"
)

// TestFanOutThroughNomad: one backup job writes one stream to MinIO, the
// GCS emulator and Azurite, and all three hold a good copy. With Azurite
// stopped in the middle of a run, the run is partial: MinIO's and GCS's
// copies are good, the record and the Consul check name Azure, and the
// job exits non-zero; Nomad's one restart, with Azurite back, is green
// everywhere. Then, with the MinIO prefix emptied, vigil restore reads the
// GCS copy and says so.
func TestFanOutThroughNomad(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 6*time.Minute)
	g, a, kv := cloudEmulators(t, ctx, "vigil-fanout")
	// The dump writes half its lines, says so in mark/started, and waits
	// for mark/go before the rest: the test stops Azurite in between.
	mark := t.TempDir()
	const lines = 400000
	name, node := "fanout", "vigil-fanout"
	dir, prefix := specDir(t, fmt.Sprintf(`
serve {
  node = %q
}

backup "command" %q {
  schedule = "0 * * * *"
  storage  = [storage.s3.sts, storage.gcs.offsite, storage.azure.dr]
  command {
    dump    = ["sh", "-c", "seq 1 %d; touch \"$MARK/started\"; while [ ! -e \"$MARK/go\" ]; do sleep 0.1; done; seq %d %d"]
    restore = ["sh", "-c", "cat > \"$OUT\""]
    env     = { MARK = %q, OUT = "/dev/null" }
  }
}`, node, name, lines/2, lines/2+1, lines, mark)+cloudStorages(g, a, kv, "vigil-fanout"))
	want := seqLines(1, lines)
	defer purgeVigilJobs(t)
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	startServe(t, dir)

	// 1. Every storage holds a good copy.
	touch(t, filepath.Join(mark, "go"))
	alloc, err := stack.Nomad.ForceRun(ctx, "vigil-"+name, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if alloc.ClientStatus != "complete" {
		t.Fatalf("the forced job: %s\n%s", alloc.ClientStatus, stack.Nomad.Explain(alloc))
	}
	first := lastRecord(t, name)
	if first.Status != record.Succeeded || len(first.Copies) != 3 || len(first.FailedCopies()) != 0 {
		t.Fatalf("the first run's record: %+v", first)
	}
	if got := listedCopies(t, dir, name)[first.ID]; got != "sts,offsite,dr" {
		t.Fatalf("list: backup %s is held by %q", first.ID, got)
	}
	waitCheck(t, node, health.CheckID(name), "passing", 30*time.Second)

	// 2. Azurite stops in the middle of a run: partial, then green again.
	os.Remove(filepath.Join(mark, "go"))
	os.Remove(filepath.Join(mark, "started"))
	done := make(chan error, 1)
	go func() {
		alloc, err := stack.Nomad.ForceRun(ctx, "vigil-"+name, 4*time.Minute)
		if err == nil && alloc.ClientStatus != "complete" {
			err = fmt.Errorf("the job after Azurite came back: %s\n%s", alloc.ClientStatus, stack.Nomad.Explain(alloc))
		}
		done <- err
	}()
	waitFile(t, filepath.Join(mark, "started"), time.Minute)
	time.Sleep(time.Second) // the first blocks are staged in Azurite
	a.Stop(5 * time.Second)
	touch(t, filepath.Join(mark, "go"))
	partial := waitRecord(t, name, first.ID, 2*time.Minute)
	// Back before Nomad's restart of the failed task (30 s later).
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if partial.Status != record.Partial || !strings.Contains(partial.Error, `azure "dr"`) {
		t.Fatalf("the run with Azurite stopped: %+v", partial)
	}
	for i, want := range []bool{true, true, false} {
		if c := partial.Copies[i]; c.Good != want {
			t.Errorf("copy %s good %v, want %v (%s)", c.Storage, c.Good, want, c.Error)
		}
	}
	c := waitCheck(t, node, health.CheckID(name), "critical", 30*time.Second)
	if !strings.HasPrefix(c.Output, "partial ") || !strings.Contains(c.Output, `azure "dr"`) {
		t.Errorf("the check's output: %q", c.Output)
	}
	if got := listedCopies(t, dir, name)[partial.ID]; got != "sts,offsite" {
		t.Errorf("list: the partial backup %s is held by %q", partial.ID, got)
	}
	// Nomad restarts the failed task once: with Azurite back, it is green.
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	again := lastRecord(t, name)
	if again.ID == partial.ID || again.Status != record.Succeeded || len(again.FailedCopies()) != 0 {
		t.Fatalf("the run after Azurite came back: %+v", again)
	}
	waitCheck(t, node, health.CheckID(name), "passing", 30*time.Second)
	if got := listedCopies(t, dir, name)[again.ID]; got != "sts,offsite,dr" {
		t.Errorf("list: backup %s is held by %q", again.ID, got)
	}

	// 3. MinIO loses the backups: the restore reads the GCS copy.
	emptyPrefix(t, ctx, prefix)
	out := filepath.Join(t.TempDir(), "restored")
	r := vigil(t, "", "restore", "-config", dir, "-backup", name, "-latest", "-to", "OUT="+out)
	if r.code != 0 || !strings.Contains(r.stdout, "read from storage offsite") {
		t.Fatalf("restore: %s", r)
	}
	if got, _ := os.ReadFile(out); string(got) != want {
		t.Fatalf("the restored dump has %d bytes, want %d", len(got), len(want))
	}
}

// listedCopies maps each backup ID vigil list shows to the storages
// holding it, comma-separated.
func listedCopies(t *testing.T, dir, name string) map[string]string {
	t.Helper()
	r := vigil(t, "", "list", "-json", "-config", dir, "-backup", name)
	if r.code != 0 {
		t.Fatalf("list: %s", r)
	}
	var ls []struct {
		ID     string   `json:"id"`
		Copies []string `json:"copies"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &ls); err != nil {
		t.Fatalf("list -json: %v\n%s", err, r.stdout)
	}
	out := map[string]string{}
	for _, l := range ls {
		out[l.ID] = strings.Join(l.Copies, ",")
	}
	return out
}

// waitRecord waits for a finished run of backup name other than not.
func waitRecord(t *testing.T, name, not string, within time.Duration) *record.Run {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if r := lastRecord(t, name); r != nil && r.ID != not {
			return r
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("no run of %s finished within %s", name, within)
	return nil
}

// emptyPrefix deletes every object under prefix in the harness bucket.
func emptyPrefix(t *testing.T, ctx context.Context, prefix string) {
	t.Helper()
	objs, err := stack.MinIO.List(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	c := stack.MinIO.RootClient()
	for _, o := range objs {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(o.Key)}); err != nil {
			t.Fatal(err)
		}
	}
	if left, _ := stack.MinIO.List(ctx, prefix); len(left) != 0 {
		t.Fatalf("%d objects left under %s", len(left), prefix)
	}
}

func touch(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitFile(t *testing.T, p string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(p); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not appear within %s", p, within)
}

// seqLines is what seq from to prints.
func seqLines(from, to int) string {
	var sb strings.Builder
	for i := from; i <= to; i++ {
		sb.WriteString(strconv.Itoa(i))
		sb.WriteByte('\n')
	}
	return sb.String()
}
