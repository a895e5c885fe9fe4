//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/envelope"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
)

// TestNoCredentialLeaks runs a backup with each credential source (the S3
// keys of every source; the Consul token of consul/creds, the Nomad token
// of nomad/creds, the etcd certificate of pki/issue, the Elasticsearch
// user and API key from KV, the Vault token of a raft snapshot) at
// trace log level, through Nomad and by hand, serves their status, and
// then greps everything vigil wrote (stdout, stderr, Nomad task logs, the
// task's config, every record on the control Consul, the rendered jobs,
// /v1/status, the Consul checks' output) for the secrets it used.
func TestNoCredentialLeaks(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 10*time.Minute)
	// The Consul tokens runs get from Vault are seen on their way in.
	proxy, err := startConsulProxy()
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	// So are the Nomad tokens from Vault's Nomad engine.
	nomadProxy, err := startNomadProxy()
	if err != nil {
		t.Fatal(err)
	}
	defer nomadProxy.Close()
	ec, _ := stack.Etcd.Client()
	ec.Put(ctx, "leak/a", "1")
	ec.Close()
	body := ""
	for _, st := range []string{"sts", "kv", "aws", "awssts"} {
		body += fmt.Sprintf(`
backup "consul_kv" "leak-%s" {
  schedule = "0 * * * *"
  timeout  = "10m"
  storage  = storage.s3.%s
  %s
}
`, st, st, consulSource(t, proxy.URL, ""))
	}
	body += fmt.Sprintf(`
backup "consul_snapshot" "leak-snapshot" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}

backup "etcd" "leak-etcd" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
  %s
}

backup "nomad_snapshot" "leak-nomad" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}

backup "vault_raft" "leak-vault" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}
`, consulSource(t, proxy.URL, ""), etcdSource(t, stack.Etcd.Endpoint), transit(harness.TransitKey, false), nomadSource(t, nomadProxy.URL), vaultSource(stack.Vault.URL()))
	for name, path := range map[string]string{"leak-es-user": harness.ESKVPath, "leak-es-key": harness.ESKeyKVPath} {
		body += fmt.Sprintf(`
backup "elasticsearch" %q {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  elasticsearch {
    url        = %q
    repository = "repo-%s"
    indices    = ["logs-*"]
    repository_settings {
      type     = "fs"
      location = "/mnt/es-backups"
    }
    credentials {
      vault_kv_path = %q
    }
  }
}
`, name, stack.ES.URL, name, path)
	}
	// A command backup with a database user per run from Vault: its dump
	// notes each password it was given, for the scan.
	pg, err := harness.StartPostgres(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	if _, err := pg.SQL(ctx, "CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 100) g"); err != nil {
		t.Fatal(err)
	}
	mount := postgresEngine(t, ctx, pg)
	pgSpy := filepath.Join(t.TempDir(), "passwords")
	body += fmt.Sprintf(`
backup "command" "leak-pg" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  command {
    dump = ["sh", "-c", "printf '%%s\\n' \"$PGPASSWORD\" >> %s; exec pg_dump --format=custom"]
    env  = { PGHOST = "127.0.0.1", PGPORT = "%d", PGDATABASE = "postgres" }
    credentials {
      vault_database = "%s/creds/orders-backup"
      username_env   = "PGUSER"
      password_env   = "PGPASSWORD"
    }
  }
}
`, pgSpy, pg.Port, mount)
	body += `
backup "consul_kv" "leak-broken" {
  schedule = "0 * * * *"
  storage  = storage.s3.kv
  consul {
    address = "https://127.0.0.1:1"
  }
}
`
	dir, prefix := specDir(t, body)
	grantForProxy(t, "nomad_snapshot")
	tok := entityToken(t, ctx)
	before := stack.IAM.Issued()
	good := []string{"leak-sts", "leak-kv", "leak-aws", "leak-awssts", "leak-snapshot", "leak-etcd", "leak-es-user", "leak-es-key", "leak-nomad", "leak-vault", "leak-pg"}

	var written []string
	for _, name := range append(good, "leak-broken") {
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
	for _, name := range good {
		alloc, err := stack.Nomad.ForceRun(ctx, "vigil-"+name, 3*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if alloc.ClientStatus != "complete" {
			t.Fatalf("%s: allocation %s\n%s", name, alloc.ClientStatus, stack.Nomad.Explain(alloc))
		}
		written = append(written, stack.Nomad.TaskLog(alloc.ID, "vigil", "stdout"), stack.Nomad.TaskLog(alloc.ID, "vigil", "stderr"))
		// The task's rendered config sits in its local/ dir.
		b, _ := os.ReadFile(filepath.Join(stack.Nomad.DataDir, "alloc", alloc.ID, "vigil", "local", "vigil.json"))
		written = append(written, string(b))
	}
	// What serve shows: /v1/status and the Consul checks it writes.
	node := "vigil"
	base := startServe(t, dir)
	for _, path := range []string{"/v1/status", "/v1/status/leak-etcd", "/metrics"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		written = append(written, string(b))
	}
	waitCheck(t, node, "vigil:leak-broken", "critical", 30*time.Second)
	cc, _ := stack.Consul.Client()
	checks, _, err := cc.Health().Node(node, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		written = append(written, c.Output, c.Notes)
	}
	pairs, _, err := cc.KV().List("vigil/", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		written = append(written, p.Key+"="+string(p.Value))
	}
	var runs []record.Run
	for _, name := range append(good, "leak-broken") {
		runs = append(runs, history(t, name)...)
	}
	if len(runs) < 2*len(good)+1 {
		t.Fatalf("expected records of every run, found %d", len(runs))
	}

	setupTok := tokensFor([]string{dir})
	secrets := map[string]string{
		"vault token":             tok,
		"vault token of the spec": setupTok.Vault,
		"control consul token":    setupTok.Consul,
		"nomad token":             setupTok.Nomad,
		"consul management token": stack.Consul.Management,
		"nomad management token":  stack.Nomad.Management,
		"vault root token":        stack.Vault.RootToken,
		"kv access key":           stack.KVAccessKey,
		"kv secret key":           stack.KVSecretKey,
		"minio root secret":       "harness-root-password",
		"elasticsearch password":  stack.ESPassword,
		"elasticsearch api key":   stack.ESAPIKey,
	}
	pgPasswords, _ := os.ReadFile(pgSpy)
	if n := len(strings.Fields(string(pgPasswords))); n != 2 {
		t.Fatalf("the command backup's dump saw %d database passwords, want one per run (2)", n)
	}
	for i, p := range strings.Fields(string(pgPasswords)) {
		secrets[fmt.Sprintf("database password %d from %s/creds", i, mount)] = p
	}
	consulTokens := append(proxy.Tokens("/v1/kv"), proxy.Tokens("/v1/snapshot")...)
	if len(consulTokens) < 2 {
		t.Fatalf("the runs' Consul tokens were not seen (%d)", len(consulTokens))
	}
	for i, ct := range consulTokens {
		secrets[fmt.Sprintf("consul token %d from consul/creds", i)] = ct
	}
	nomadTokens := nomadProxy.Tokens("/v1/operator")
	if len(nomadTokens) < 2 {
		t.Fatalf("the runs' Nomad tokens were not seen (%d)", len(nomadTokens))
	}
	for i, nt := range nomadTokens {
		secrets[fmt.Sprintf("nomad token %d from nomad/creds", i)] = nt
	}
	// The plaintext data keys of the encrypted backup's runs, as Transit
	// gives them back to its root token.
	root, _ := stack.Vault.Root()
	for _, mk := range manifests(t, ctx, prefix, "leak-etcd") {
		m, err := manifest.Parse(getObject(t, ctx, mk))
		if err != nil || m.Encryption == nil {
			t.Fatalf("%s: not an encrypted manifest: %v", mk, err)
		}
		key, err := envelope.New(root.Logical(), config.Encryption{Mount: m.Encryption.Mount, Key: m.Encryption.Key}).Unwrap(ctx, m.Encryption.WrappedKey)
		if err != nil {
			t.Fatal(err)
		}
		secrets["data key of "+m.ID+" (base64)"] = base64.StdEncoding.EncodeToString(key)
		secrets["data key of "+m.ID+" (hex)"] = hex.EncodeToString(key)
		written = append(written, string(getObject(t, ctx, mk)))
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
			t.Errorf("the %s appears in vigil's output, records, jobs or status", what)
		}
	}
	// Shapes of secrets whose value the test cannot know: a Vault token,
	// and the private key of the certificate Vault's PKI issued a run.
	for what, shape := range map[string]string{"a Vault token": "hvs.", "a private key": "PRIVATE KEY", "a PEM block": "-----BEGIN"} {
		if strings.Contains(all, shape) {
			t.Errorf("something that looks like %s appears in the output", what)
		}
	}
}
