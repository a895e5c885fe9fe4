//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/hcl/parse"
	"github.com/vigil-backup/vigil/jobs"
)

// TestTaskGetsVaultTokenWithEntity forces a vigil-compiled job whose task
// command is swapped for a shell that records `vault token lookup` and reads
// an identity token: the allocation must see a working VAULT_TOKEN that
// belongs to an entity, which vault_identity_sts needs.
func TestTaskGetsVaultTokenWithEntity(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 3*time.Minute)
	cfg, _, diags := parse.Load(copyExamples(t), parse.Options{Vars: harnessVarValues()})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	compiled, err := jobs.CompileBackup(cfg, "consul-kv-services", jobs.Options{Version: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	job := compiled[0]
	task := job.TaskGroups[0].Tasks[0]
	if task.Vault == nil {
		t.Fatal("the compiled job has no vault block")
	}
	vaultBin, _ := harness.Tool("vault")
	task.Config = map[string]any{
		"command": "/bin/sh",
		"args": []any{"-c", "export VAULT_CACERT=" + stack.Sec.CA.File + "; " + vaultBin + " token lookup -format=json > ${NOMAD_ALLOC_DIR}/lookup.json && " +
			vaultBin + " read -field=token identity/oidc/token/" + harness.OIDCRole + " > ${NOMAD_ALLOC_DIR}/jwt"},
	}
	nc, _ := stack.Nomad.Client()
	if _, _, err := nc.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	alloc, err := stack.Nomad.ForceRun(ctx, *job.ID, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if alloc.ClientStatus != "complete" {
		t.Fatalf("alloc %s: %s\n%s", alloc.ID, alloc.ClientStatus, stack.Nomad.Explain(alloc))
	}
	allocDir := filepath.Join(stack.Nomad.DataDir, "alloc", alloc.ID, "alloc")
	raw, err := os.ReadFile(filepath.Join(allocDir, "lookup.json"))
	if err != nil {
		t.Fatal(err)
	}
	var lookup struct {
		Data struct {
			EntityID string   `json:"entity_id"`
			Policies []string `json:"policies"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &lookup); err != nil {
		t.Fatal(err)
	}
	if lookup.Data.EntityID == "" {
		t.Errorf("the task's Vault token has no entity: %s", raw)
	}
	// The task's token has what vigil setup gave this job alone, and
	// nothing more than Vault's default policy.
	if got, want := strings.Join(lookup.Data.Policies, ","), "default,vigil-platform-backup-consul-kv-services"; got != want {
		t.Errorf("the task's token has policies %s, want %s", got, want)
	}
	if jwt, _ := os.ReadFile(filepath.Join(allocDir, "jwt")); strings.Count(string(jwt), ".") != 2 {
		t.Errorf("the task could not read an identity token: %q", jwt)
	}
}
