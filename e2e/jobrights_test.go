//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/hcl/parse"
	"github.com/vigil-backup/vigil/jobs"
)

// TestEachJobIsRefusedOthersRights: inside Nomad, each job's workload
// identity holds its own job's rights and is refused the others'. The
// examples' jobs are compiled as vigil compiles them, with the task's
// command swapped for a shell that tries each path with the Vault and
// Consul tokens Nomad gave it:
//   - the etcd backup job gets a data key and writes its own record, and is
//     refused decrypt, Vault's raft snapshot and another backup's record;
//   - the etcd drill job may unwrap, and is refused HMAC signing, data keys,
//     the backup's lock and another backup's record;
//   - a job registered in namespace dev under the etcd backup's job ID logs
//     in neither to Vault nor to Consul.
func TestEachJobIsRefusedOthersRights(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 6*time.Minute)
	cfg, _, diags := parse.Load(copyExamples(t), parse.Options{Vars: harnessVarValues()})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	b, err := cfg.Backup("etcd-main")
	if err != nil || b.Encryption == nil || b.Verify == nil || b.Verify.Schedule == "" {
		t.Fatalf("the examples' etcd-main should be encrypted with a drill job: %v", err)
	}
	transit := func(op string) string { return b.Encryption.Mount + "/" + op + "/" + b.Encryption.Key }
	other := config.RecordPrefix + "consul-prod/e2e-forged"
	own := config.RecordPrefix + "etcd-main/e2e-probe"

	got := runProbes(t, ctx, cfg, jobs.BackupPrefix+"etcd-main", "", []probe{
		{"datakey", "vault write -f " + transit("datakey/plaintext"), true},
		{"own record", "consul kv put " + own + " x && consul kv delete " + own, true},
		{"decrypt", "vault write " + transit("decrypt") + " ciphertext=vault:v1:AAAA", false},
		{"raft snapshot", "vault read sys/storage/raft/snapshot", false},
		{"other record", "consul kv put " + other + " x", false},
	})
	t.Logf("backup job: %v", got)
	got = runProbes(t, ctx, cfg, jobs.VerifyPrefix+"etcd-main", "", []probe{
		// A bogus ciphertext: allowed means Transit answers that it is
		// invalid, not that the token may not ask.
		{"decrypt", "vault write " + transit("decrypt") + " ciphertext=vault:v1:AAAA", true},
		{"hmac", "vault write " + transit("hmac") + " input=aGk=", false},
		{"datakey", "vault write -f " + transit("datakey/plaintext"), false},
		{"lock", "consul kv put " + b.Lock.Key + " x", false},
		{"other record", "consul kv put " + other + " x", false},
	})
	t.Logf("drill job: %v", got)

	// The impostor: the same job ID in namespace dev.
	nc, _ := stack.Nomad.Client()
	if _, err := nc.Namespaces().Register(&nomad.Namespace{Name: "dev", Description: "vigil e2e: an impostor's namespace"}, nil); err != nil {
		t.Fatal(err)
	}
	defer purgeNamespace(t, "dev")
	for _, system := range []string{"vault", "consul"} {
		alloc := runImpostor(t, ctx, cfg, system)
		msg := stack.Nomad.Explain(alloc)
		if alloc.ClientStatus != "failed" || strings.Contains(msg, "impostor ran") {
			t.Errorf("a dev job named %s with only a %s block: %s\n%s", jobs.BackupPrefix+"etcd-main", system, alloc.ClientStatus, msg)
			continue
		}
		want := map[string]string{"vault": "failed to derive vault token", "consul": "consul"}[system]
		if !strings.Contains(strings.ToLower(msg), want) {
			t.Errorf("the dev impostor failed, but not at its %s login:\n%s", system, msg)
		}
	}
}

// probe is one thing a job's task tries; allowed says whether its
// identity may.
type probe struct {
	name, command string
	allowed       bool
}

// runProbes registers the compiled job jobID with its command swapped for
// the probes, forces a run and checks each outcome: refused means Vault or
// Consul said "permission denied". It returns the outcomes.
func runProbes(t *testing.T, ctx context.Context, cfg *config.Config, jobID, ns string, probes []probe) map[string]string {
	t.Helper()
	job := compiledJob(t, cfg, jobID)
	var script strings.Builder
	fmt.Fprintf(&script, "export PATH=%s:%s:$PATH VAULT_CACERT=%s CONSUL_CACERT=%s CONSUL_HTTP_ADDR=%s\n",
		filepath.Dir(tool("vault")), filepath.Dir(tool("consul")), stack.Sec.CA.File, stack.Sec.CA.File, stack.Consul.URL())
	script.WriteString(`F=${NOMAD_ALLOC_DIR}/probes
p() { if out=$(sh -c "$2" 2>&1); then echo "$1=ok" >> $F; else case "$out" in *ermission\ denied*) echo "$1=refused" >> $F;; *) echo "$1=error: $(echo "$out" | tr '\n' ' ' | cut -c1-300)" >> $F;; esac; fi; }
`)
	for _, p := range probes {
		fmt.Fprintf(&script, "p %q %q\n", p.name, p.command)
	}
	task := job.TaskGroups[0].Tasks[0]
	if task.Vault == nil || task.Consul == nil {
		t.Fatalf("%s: the compiled task should log in to Vault and Consul", jobID)
	}
	task.Config = map[string]any{"command": "/bin/sh", "args": []any{"-c", script.String()}}
	nc, _ := stack.Nomad.Client()
	if _, _, err := nc.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	alloc, err := stack.Nomad.ForceRunIn(ctx, ns, jobID, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(stack.Nomad.DataDir, "alloc", alloc.ID, "alloc", "probes"))
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = v
		}
	}
	for _, p := range probes {
		o, ran := got[p.name]
		switch {
		case !ran:
			t.Errorf("%s: probe %q did not run (alloc %s)\n%s", jobID, p.name, alloc.ClientStatus, stack.Nomad.Explain(alloc))
		case p.allowed && o != "ok" && !strings.Contains(o, "Code: 400"):
			// Allowed means done, or judged on its merits (a bogus
			// ciphertext): not refused, and not unreachable either.
			t.Errorf("%s: %s was not allowed; its job needs it: %s", jobID, p.name, o)
		case !p.allowed && o != "refused":
			t.Errorf("%s: %s was not refused: %s", jobID, p.name, o)
		}
	}
	return got
}

// compiledJob is jobID as vigil compiles it from cfg.
func compiledJob(t *testing.T, cfg *config.Config, jobID string) *nomad.Job {
	t.Helper()
	all, err := jobs.Compile(cfg, jobs.Options{Version: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range all {
		if *j.ID == jobID {
			return j
		}
	}
	t.Fatalf("no compiled job %s", jobID)
	return nil
}

// runImpostor registers the etcd backup's compiled job in namespace dev,
// keeping only its block for system (vault or consul), with a command
// that would leave a mark if it ran, and returns its finished allocation.
func runImpostor(t *testing.T, ctx context.Context, cfg *config.Config, system string) *nomad.Allocation {
	t.Helper()
	job := compiledJob(t, cfg, jobs.BackupPrefix+"etcd-main")
	job.Namespace = ptrTo("dev")
	task := job.TaskGroups[0].Tasks[0]
	if system == "vault" {
		task.Consul = nil
	} else {
		task.Vault = nil
	}
	task.Config = map[string]any{"command": "/bin/sh", "args": []any{"-c", "echo impostor ran"}}
	tg := job.TaskGroups[0]
	tg.RestartPolicy = &nomad.RestartPolicy{Attempts: ptrTo(0), Mode: ptrTo("fail")}
	tg.ReschedulePolicy = &nomad.ReschedulePolicy{Attempts: ptrTo(0), Unlimited: ptrTo(false)}
	nc, _ := stack.Nomad.Client()
	if _, _, err := nc.Jobs().Register(job, &nomad.WriteOptions{Namespace: "dev"}); err != nil {
		t.Fatal(err)
	}
	alloc, err := stack.Nomad.ForceRunIn(ctx, "dev", *job.ID, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return alloc
}

// purgeNamespace stops and purges the jobs of ns, then deletes it.
func purgeNamespace(t *testing.T, ns string) {
	nc, _ := stack.Nomad.Client()
	stubs, _, _ := nc.Jobs().List(&nomad.QueryOptions{Namespace: ns})
	for _, s := range stubs {
		nc.Jobs().Deregister(s.ID, true, &nomad.WriteOptions{Namespace: ns})
	}
	nc.Namespaces().Delete(ns, nil)
}

func ptrTo[T any](v T) *T { return &v }
