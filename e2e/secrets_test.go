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

// TestNoCredentialLeaks runs a backup with each credential source at trace
// log level, through Nomad and by hand, and then greps everything vigil
// wrote (stdout, stderr, Nomad task logs, every record on the control
// Consul, the rendered jobs) for the keys and tokens it used.
func TestNoCredentialLeaks(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 10*time.Minute)
	body := ""
	for _, st := range []string{"sts", "kv", "aws", "awssts"} {
		body += fmt.Sprintf(`
backup "consul_kv" "leak-%s" {
  schedule = "0 * * * *"
  timeout  = "10m"
  storage  = storage.s3.%s
  %s
}
`, st, st, consulSource(t, stack.Consul.URL(), ""))
	}
	body += `
backup "consul_kv" "leak-broken" {
  schedule = "0 * * * *"
  storage  = storage.s3.kv
  consul {
    address = "https://127.0.0.1:1"
  }
}
`
	dir, _ := specDir(t, body)
	tok := entityToken(t, ctx)
	before := stack.IAM.Issued()

	var written []string
	for _, name := range []string{"leak-sts", "leak-kv", "leak-aws", "leak-awssts", "leak-broken"} {
		r := vigil(t, tok, "run", "-log-level", "trace", "-config", dir, "-backup", name)
		if (r.code == 0) == (name == "leak-broken") {
			t.Fatalf("%s: %s", name, r)
		}
		written = append(written, r.stdout, r.stderr)
	}
	for _, format := range []string{"hcl", "json"} {
		r := vigil(t, "", "render", "-format", format, dir)
		written = append(written, r.stdout)
	}
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	for _, name := range []string{"leak-sts", "leak-kv", "leak-aws", "leak-awssts"} {
		alloc, err := stack.Nomad.ForceRun(ctx, "vigil-"+name, 3*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		written = append(written, stack.Nomad.TaskLog(alloc.ID, "vigil", "stdout"), stack.Nomad.TaskLog(alloc.ID, "vigil", "stderr"))
		// The task's rendered config sits in its local/ dir.
		b, _ := os.ReadFile(filepath.Join(stack.Nomad.DataDir, "alloc", alloc.ID, "vigil", "local", "vigil.json"))
		written = append(written, string(b))
	}
	cc, _ := stack.Consul.Client()
	pairs, _, err := cc.KV().List("vigil/", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		written = append(written, p.Key+"="+string(p.Value))
	}
	var runs []record.Run
	for _, name := range []string{"leak-sts", "leak-kv", "leak-aws", "leak-awssts", "leak-broken"} {
		runs = append(runs, history(t, name)...)
	}
	if len(runs) < 9 {
		t.Fatalf("expected records of every run, found %d", len(runs))
	}

	secrets := map[string]string{
		"vault token":       tok,
		"kv access key":     stack.KVAccessKey,
		"kv secret key":     stack.KVSecretKey,
		"minio root secret": "harness-root-password",
	}
	for k, v := range stack.IAM.Issued() {
		if _, old := before[k]; !old {
			secrets["iam access key "+k] = k
			secrets["iam secret key of "+k] = v
			secrets["sts session token of "+k] = stack.IAM.SessionToken(k)
		}
	}
	all := strings.Join(written, "\n")
	if len(all) < 1000 {
		t.Fatalf("suspiciously little output to search (%d bytes)", len(all))
	}
	for what, s := range secrets {
		if s != "" && strings.Contains(all, s) {
			t.Errorf("the %s appears in vigil's output, records or jobs", what)
		}
	}
	// The Vault token's accessor-free form must not appear either.
	if strings.Contains(all, "hvs.") {
		t.Errorf("something that looks like a Vault token appears in the output")
	}
}
