//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/jobs"
)

// nomadCLI runs the nomad CLI as the operator holding tok (the Nomad
// policy vigil setup wrote for plan and apply).
func nomadCLI(t *testing.T, tok harness.Tokens, args ...string) (string, error) {
	t.Helper()
	bin, err := harness.Tool("nomad")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = stack.Env(tok)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func purgeVigilJobs(t *testing.T) {
	t.Helper()
	nc, err := stack.Nomad.Client()
	if err != nil {
		t.Fatal(err)
	}
	stubs, _, err := nc.Jobs().PrefixList("vigil-")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stubs {
		if _, _, err := nc.Jobs().Deregister(s.ID, true, nil); err != nil {
			t.Errorf("purge %s: %v", s.ID, err)
		}
	}
}

// jobView is what must survive rendering: Nomad parses the rendered file
// back into a job equal to the compiled one on these fields.
type jobView struct {
	ID, Type, TimeZone          string
	Specs                       []string
	ProhibitOverlap             bool
	Meta                        map[string]string
	Datacenters                 []string
	Constraints                 []*nomad.Constraint
	Restart                     *nomad.RestartPolicy
	Reschedule                  *nomad.ReschedulePolicy
	Driver                      string
	Env                         map[string]string
	Config                      map[string]any
	Template, Dest, Left, Right string
	Vault                       *nomad.Vault
	CPU, Memory                 int
	Artifacts                   []*nomad.TaskArtifact
	KillTimeout                 time.Duration
}

func viewOf(t *testing.T, raw []byte) jobView {
	t.Helper()
	var doc struct{ Job *nomad.Job }
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Job == nil {
		t.Fatalf("not a job document: %v\n%s", err, raw)
	}
	j := doc.Job
	// Both sides get Nomad's client-side defaults, so only real
	// differences remain.
	j.Canonicalize()
	tg := j.TaskGroups[0]
	task := tg.Tasks[0]
	tpl := task.Templates[0]
	v := jobView{
		ID: *j.ID, Type: *j.Type, Meta: j.Meta, Datacenters: j.Datacenters, Constraints: j.Constraints,
		Restart: tg.RestartPolicy, Reschedule: tg.ReschedulePolicy, Driver: task.Driver, Env: task.Env, Config: task.Config,
		Template: *tpl.EmbeddedTmpl, Dest: *tpl.DestPath, Left: *tpl.LeftDelim, Right: *tpl.RightDelim,
		Vault: task.Vault, CPU: *task.Resources.CPU, Memory: *task.Resources.MemoryMB, Artifacts: task.Artifacts,
		KillTimeout: *task.KillTimeout,
	}
	if p := j.Periodic; p != nil {
		v.TimeZone, v.Specs, v.ProhibitOverlap = *p.TimeZone, p.Specs, *p.ProhibitOverlap
	}
	return v
}

// TestRenderedExamplesRunOnNomad: vigil render's HCL and JSON pass `nomad
// job validate`, register with `nomad job run` as periodic batch jobs, and
// Nomad parses the HCL back into the job vigil compiled.
func TestRenderedExamplesRunOnNomad(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	hclDir, jsonDir := t.TempDir(), t.TempDir()
	examples := copyExamples(t)
	tok := tokensFor([]string{examples})
	for format, dir := range map[string]string{"hcl": hclDir, "json": jsonDir} {
		args := append([]string{"render", "-format", format, "-out", dir}, harnessVars()...)
		if r := vigil(t, "", append(args, examples)...); r.code != 0 {
			t.Fatalf("render %s: %s", format, r)
		}
	}
	hclFiles, _ := filepath.Glob(filepath.Join(hclDir, "*.nomad.hcl"))
	// Seven backups, drills on a schedule for six of them, vigil serve.
	if len(hclFiles) != 14 {
		t.Fatalf("want 14 rendered jobs, got %v", hclFiles)
	}
	nc, _ := stack.Nomad.Client()
	for _, f := range hclFiles {
		id := strings.TrimSuffix(filepath.Base(f), ".nomad.hcl")
		if out, err := nomadCLI(t, tok, "job", "validate", f); err != nil {
			t.Errorf("nomad job validate %s: %v\n%s", f, err, out)
		}
		parsed, err := nomadCLI(t, tok, "job", "run", "-output", f)
		if err != nil {
			t.Fatalf("nomad job run -output %s: %v\n%s", f, err, parsed)
		}
		compiled, _ := os.ReadFile(filepath.Join(jsonDir, id+".nomad.json"))
		got, want := viewOf(t, []byte(parsed)), viewOf(t, compiled)
		if !reflect.DeepEqual(got, want) {
			g, _ := json.MarshalIndent(got, "", " ")
			w, _ := json.MarshalIndent(want, "", " ")
			t.Errorf("%s: Nomad parsed the HCL into a different job:\n got %s\nwant %s", id, g, w)
		}
		if out, err := nomadCLI(t, tok, "job", "run", f); err != nil {
			t.Errorf("nomad job run %s: %v\n%s", f, err, out)
		}
		job, _, err := nc.Jobs().Info(id, nil)
		if err != nil {
			t.Fatalf("job %s not registered: %v", id, err)
		}
		if strings.HasPrefix(id, jobs.ServePrefix) {
			if *job.Type != "service" {
				t.Errorf("%s is a %s job", id, *job.Type)
			}
			continue
		}
		if *job.Type != "batch" || !job.IsPeriodic() || *job.Status != "running" {
			t.Errorf("%s: type %s periodic %v status %s", id, *job.Type, job.IsPeriodic(), *job.Status)
		}
	}
	purgeVigilJobs(t)
	jsonFiles, _ := filepath.Glob(filepath.Join(jsonDir, "*.nomad.json"))
	for _, f := range jsonFiles {
		if out, err := nomadCLI(t, tok, "job", "run", "-json", f); err != nil {
			t.Errorf("nomad job run -json %s: %v\n%s", f, err, out)
		}
	}
	stubs, _, _ := nc.Jobs().PrefixList("vigil-")
	var registered []string
	for _, s := range stubs {
		if s.ParentID == "" { // a periodic launch's child is not a file's job
			registered = append(registered, s.ID)
		}
	}
	if len(registered) != 14 {
		t.Errorf("want 14 jobs from the JSON files, got %v", registered)
	}
}

// TestPlanApplyPrune: plan exits 1 before apply and 0 after; a schedule
// change shows a diff; -prune stops a job whose spec was deleted.
func TestPlanApplyPrune(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	dir := copyExamples(t)
	plan := func() result { return vigil(t, "", append(append([]string{"plan"}, harnessVars()...), dir)...) }
	apply := func(extra ...string) result {
		args := append(append([]string{"apply", "-auto-approve"}, extra...), harnessVars()...)
		return vigil(t, "", append(args, dir)...)
	}

	if r := plan(); r.code != 1 || !strings.Contains(r.stdout, `+ Job: "vigil-etcd-main"`) {
		t.Fatalf("plan before apply: %s", r)
	}
	if r := apply(); r.code != 0 || !strings.Contains(r.stdout, "registered vigil-etcd-main") {
		t.Fatalf("apply: %s", r)
	}
	if r := plan(); r.code != 0 {
		t.Fatalf("plan after apply should show no changes: %s", r)
	}

	consulSpec := filepath.Join(dir, "consul.hcl")
	b, _ := os.ReadFile(consulSpec)
	os.WriteFile(consulSpec, []byte(strings.Replace(string(b), `"17 * * * *"`, `"19 * * * *"`, 1)), 0o644)
	r := plan()
	if r.code != 1 || !strings.Contains(r.stdout, `+/- Job: "vigil-consul-prod"`) || !strings.Contains(r.stdout, `"19 * * * *"`) {
		t.Fatalf("plan after a schedule change: %s", r)
	}
	if strings.Contains(r.stdout, `Job: "vigil-etcd-main"`) && !strings.Contains(r.stdout, `Job: "vigil-etcd-main" (no changes)`) {
		t.Errorf("an unchanged job shows a diff: %s", r)
	}
	if r := apply(); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}

	// The spec of vigil-logs goes; its variables stay for the -var flags.
	os.WriteFile(filepath.Join(dir, "elasticsearch.hcl"), []byte("variable \"es_url\" {\n  type = string\n}\nvariable \"es_credentials\" {\n  type = string\n}\n"), 0o644)
	if r := plan(); r.code != 1 || !strings.Contains(r.stdout, `"vigil-logs"`) || !strings.Contains(r.stdout, "no spec declares it") {
		t.Fatalf("plan should list the orphan: %s", r)
	}
	if r := apply(); r.code != 0 {
		t.Fatalf("apply without -prune: %s", r)
	}
	nc, _ := stack.Nomad.Client()
	if job, _, err := nc.Jobs().Info("vigil-logs", nil); err != nil || *job.Stop {
		t.Fatalf("apply without -prune must leave the orphan alone: %v", err)
	}
	if r := apply("-prune"); r.code != 0 || !strings.Contains(r.stdout, "stopped vigil-logs") {
		t.Fatalf("apply -prune: %s", r)
	}
	if job, _, err := nc.Jobs().Info("vigil-logs", nil); err != nil || !*job.Stop {
		t.Errorf("vigil-logs should be stopped after -prune: %v", err)
	}
	if r := plan(); r.code != 0 {
		t.Errorf("plan after prune: %s", r)
	}
}

// TestPruneStopsOnlyItsConfiguration: two spec directories in one
// namespace each get their own serve job, and apply -prune of one never
// stops the other's jobs.
func TestPruneStopsOnlyItsConfiguration(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	spec := func(id, backup string) string {
		dir := t.TempDir()
		src := fmt.Sprintf(`
config_id = %q
consul {
  address = %q
  %s
}
vault {
  address = %q
  %s
}
nomad {
  datacenters = ["dc1"]
  driver      = "raw_exec"
  binary      = %q
}
storage "local" "disk" {
  path = %q
}
backup "consul_kv" %q {
  schedule = "0 0 1 1 *"
  storage  = storage.local.disk
  consul {
    address = %q
    %s
    credentials {
      vault_consul_path = "consul/creds/%s"
    }
  }
}`, id, stack.Consul.URL(), caFile(), stack.Vault.URL(), caFile(), vigilBin, t.TempDir(), backup, stack.Consul.URL(), caFile(), id)
		if err := os.WriteFile(filepath.Join(dir, "spec.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		setupSpec(t, dir, id)
		return dir
	}
	teamA, teamB := spec("team-a", "a-kv"), spec("team-b", "b-kv")
	for _, dir := range []string{teamA, teamB} {
		if r := vigil(t, "", "apply", "-auto-approve", "-prune", dir); r.code != 0 {
			t.Fatalf("apply %s: %s", dir, r)
		}
	}
	nc, _ := stack.Nomad.Client()
	want := map[string]string{"vigil-a-kv": "team-a", jobs.ServePrefix + "team-a": "team-a", "vigil-b-kv": "team-b", jobs.ServePrefix + "team-b": "team-b"}
	for id, config := range want {
		job, _, err := nc.Jobs().Info(id, nil)
		if err != nil || *job.Stop {
			t.Fatalf("%s after both applies with -prune: %v", id, err)
		}
		if job.Meta[jobs.MetaConfig] != config {
			t.Errorf("%s: config meta %q, want %q", id, job.Meta[jobs.MetaConfig], config)
		}
	}
	if r := vigil(t, "", "plan", teamA); r.code != 0 || strings.Contains(r.stdout, "b-kv") {
		t.Fatalf("plan of team-a shows team-b's jobs: %s", r)
	}
}
