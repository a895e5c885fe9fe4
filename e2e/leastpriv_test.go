//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/jobs/policy"
)

// TestEachRuleIsNeeded: the rules vigil setup writes are exact. With any
// one of them removed, the run that needs it (or vigil serve, or vigil
// plan) fails, and its error names the rule missing, not a bare
// "Permission denied".
func TestEachRuleIsNeeded(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 10*time.Minute)
	cc, _ := stack.Consul.Client()
	cc.KV().Put(kvPair("lp/a", "1"), nil)
	node := "vigil-lp"
	dir, _ := specDir(t, fmt.Sprintf(`
serve {
  node = %q
}

backup "consul_snapshot" "lp-snap" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
  %s
}

backup "consul_kv" "lp-kv" {
  schedule = "0 * * * *"
  storage  = storage.s3.aws
  %s
}

backup "etcd" "lp-etcd" {
  schedule = "0 * * * *"
  storage  = storage.s3.kv
  %s
}

backup "elasticsearch" "lp-es" {
  schedule = "0 * * * *"
  timeout  = "10m"
  storage  = storage.s3.awssts
  elasticsearch {
    url        = %q
    repository = "repo-lp"
    indices    = ["logs-*"]
    repository_settings {
      type     = "fs"
      location = "/mnt/es-backups"
    }
    %s
  }
}

backup "nomad_snapshot" "lp-nomad" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}

backup "vault_raft" "lp-vault" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}`, node, consulSource(t, stack.Consul.URL(), ""), transit(harness.TransitKey, false), consulSource(t, stack.Consul.URL(), "lp/"),
		etcdSource(t, stack.Etcd.Endpoint), stack.ES.URL, esCredentials(), nomadSource(t, stack.Nomad.URL()), vaultSource(stack.Vault.URL())))
	ec, err := stack.Etcd.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	if _, err := ec.Put(ctx, "lp/a", "1"); err != nil {
		t.Fatal(err)
	}
	var s policy.Setup
	if r := vigil(t, "", "setup", "-json", dir); r.code != 0 || json.Unmarshal([]byte(r.stdout), &s) != nil {
		t.Fatalf("setup -json: %s", r)
	}
	for _, b := range []string{"lp-snap", "lp-kv", "lp-etcd", "lp-es", "lp-nomad", "lp-vault"} {
		if r := vigil(t, "", "run", "-config", dir, "-backup", b); r.code != 0 {
			t.Fatalf("%s with every rule: %s", b, r)
		}
	}
	// Each job runs with its own identity's tokens, as inside Nomad: a
	// rule another job's policy also holds is still missed.
	jobs := jobEnvs(t, ctx, dir)
	cases := 0
	for _, p := range s.Policies {
		if p.Manual {
			continue
		}
		for i, rule := range p.Rules {
			name := fmt.Sprintf("%s %s rule %d", p.System, p.Name, i)
			write := func(q policy.Policy) {
				if err := writePolicy(ctx, q); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			write(p.Without(i))
			want, check := whatFails(t, dir, node, jobs, p, rule)
			out, failed := check()
			out = strings.ReplaceAll(out, `\"`, `"`) // log lines quote their values
			write(p)
			cases++
			if !failed || !strings.Contains(out, want) {
				t.Errorf("%s (%s) removed: want a failure naming %q, got:\n%s", name, strings.SplitN(rule.Text, "\n", 2)[0], want, out)
			}
		}
	}
	// etcd: the run's user without the root role.
	if _, err := ec.UserRevokeRole(ctx, "vigil", "root"); err != nil {
		t.Fatal(err)
	}
	r := vigilEnv(t, jobs.backup("lp-etcd"), "run", "-config", dir, "-backup", "lp-etcd")
	ec.UserGrantRole(ctx, "vigil", "root")
	cases++
	if r.code != 1 || !strings.Contains(r.stderr, "lacks the root role") {
		t.Errorf("etcd user vigil without the root role: %s", r)
	}
	t.Logf("%d rule-removal cases, each failing and naming the rule missing", cases)
}

// writePolicy writes a policy with the bootstrap tokens.
func writePolicy(ctx context.Context, p policy.Policy) error {
	switch p.System {
	case policy.SystemConsul:
		cc, _ := stack.Consul.Client()
		cur, _, err := cc.ACL().PolicyReadByName(p.Name, nil)
		if err != nil || cur == nil {
			return fmt.Errorf("read consul policy %s: %v", p.Name, err)
		}
		cur.Rules = p.Text()
		_, _, err = cc.ACL().PolicyUpdate(cur, nil)
		return err
	case policy.SystemVault:
		vc, _ := stack.Vault.Root()
		return vc.Sys().PutPolicyWithContext(ctx, p.Name, p.Text())
	case policy.SystemNomad:
		nc, _ := stack.Nomad.Client()
		rules := p.Text()
		if len(p.Rules) == 0 { // Nomad refuses an empty policy
			rules = `namespace "vigil-none" { policy = "deny" }`
		}
		_, err := nc.ACLPolicies().Upsert(&nomad.ACLPolicy{Name: p.Name, Rules: rules}, nil)
		return err
	}
	return fmt.Errorf("no writer for %s", p.System)
}

var (
	backupsOfRule = regexp.MustCompile(`\(([a-z0-9, -]+)\)$`)
	vaultRule     = regexp.MustCompile(`path "([^"]+)" \{\s*capabilities = \["([a-z]+)"`)
	consulRule    = regexp.MustCompile(`^(\w+) "([^"]*)" \{ policy = "(\w+)" \}`)
)

// jobIdentities are the environments of a configuration's jobs, each with
// its own identity's tokens (harness.Stack.JobTokens).
type jobIdentities struct {
	prefix string // vigil-<config id>-
	env    map[string][]string
}

func jobEnvs(t *testing.T, ctx context.Context, dir string) *jobIdentities {
	j := &jobIdentities{prefix: "vigil-" + configID(t) + "-", env: map[string][]string{}}
	base := tokensFor([]string{dir})
	for _, b := range []string{"lp-snap", "lp-kv", "lp-etcd", "lp-es", "lp-nomad", "lp-vault"} {
		j.mint(t, ctx, base, j.prefix+"backup-"+b)
	}
	j.mint(t, ctx, base, j.prefix+"serve")
	return j
}

func (j *jobIdentities) mint(t *testing.T, ctx context.Context, base harness.Tokens, identity string) {
	tok, err := stack.JobTokens(ctx, stack.Consul, base, identity)
	if err != nil {
		t.Fatal(err)
	}
	j.env[identity] = stack.Env(tok)
}

func (j *jobIdentities) backup(name string) []string { return j.env[j.prefix+"backup-"+name] }

// whatFails says what a rule's absence must break, and how to see it: the
// text the error must hold, and a check that returns the output and
// whether it failed. Each check runs as the job whose policy lost the rule.
func whatFails(t *testing.T, dir, node string, jobs *jobIdentities, p policy.Policy, rule policy.Rule) (string, func() (string, bool)) {
	run := func(backup string) func() (string, bool) {
		return func() (string, bool) {
			r := vigilEnv(t, jobs.backup(backup), "run", "-config", dir, "-backup", backup)
			return r.stderr, r.code == 1
		}
	}
	switch p.System {
	case policy.SystemVault:
		m := vaultRule.FindStringSubmatch(rule.Text)
		b := backupsOfRule.FindStringSubmatch(rule.Why)
		return fmt.Sprintf("lacks %q on %s", m[2], m[1]), run(strings.Split(b[1], ", ")[0])
	case policy.SystemNomad:
		if strings.HasSuffix(p.Name, "-snapshot") {
			return `token lacks the operator capability "snapshot-save"`, run("lp-nomad")
		}
		return "token lacks submit-job in namespace \"default\"", func() (string, bool) {
			r := vigil(t, "", "plan", dir)
			return r.stderr, r.code == 255
		}
	}
	if rule.Text == `acl = "write"` {
		return `token lacks acl = "write"`, run("lp-snap")
	}
	m := consulRule.FindStringSubmatch(rule.Text)
	kind, segment, access := m[1], m[2], m[3]
	want := fmt.Sprintf("%s %q %s", kind, segment, access)
	if p.Server != policy.ControlServer {
		return want, run("lp-kv") // the KV export's prefix on the Consul it reads
	}
	if p.Name == jobs.prefix+"serve" {
		serve := serveLog(t, dir, jobs.env[p.Name])
		switch {
		case kind == "session_prefix":
			return "token lacks session", serve
		case kind == "key_prefix" && strings.HasPrefix(segment, "vigil/serve/"):
			return `key "` + segment + `leader"`, serve
		case kind == "key" && strings.HasSuffix(segment, "/registered"):
			// Written once per backup: take the registration back so
			// serve writes it again.
			cc, _ := stack.Consul.Client()
			cc.KV().Delete(segment, nil)
		}
		return want, serve
	}
	backup := strings.TrimPrefix(p.Name, jobs.prefix+"backup-")
	switch {
	case kind == "key_prefix" && strings.HasPrefix(segment, "vigil/runs/"):
		// The run cannot write its record; vigil status as the same job,
		// whose listing Consul filters, must say it may not read it
		// rather than show a backup that never ran.
		return want, func() (string, bool) {
			out, failed := run(backup)()
			st := vigilEnv(t, jobs.backup(backup), "status", "-config", dir, backup)
			read := fmt.Sprintf("key_prefix %q read", segment)
			if st.code != 1 || !strings.Contains(st.stderr, read) {
				return out + "\nvigil status: " + st.String(), false
			}
			return out, failed
		}
	case kind == "key_prefix" && strings.HasPrefix(segment, "vigil/history/"):
		// The backup is written before its record: the run's outcome
		// stands and it says the record could not be.
		return want, func() (string, bool) {
			r := vigilEnv(t, jobs.backup(backup), "run", "-config", dir, "-backup", backup)
			out := r.stdout + r.stderr
			return out, strings.Contains(out, "writing the run record failed")
		}
	}
	return want, run(backup)
}

// serveLog runs vigil serve until its log names a refused permission (or
// 20 s pass), and returns the log; serve keeps running on errors, so
// "failed" means it logged a refusal.
func serveLog(t *testing.T, dir string, env []string) func() (string, bool) {
	return func() (string, bool) {
		cmd := exec.Command(vigilBin, "serve", "-config", dir, "-addr", "127.0.0.1:0")
		cmd.Env = env
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			cmd.Process.Signal(interrupt)
			cmd.Wait()
		}()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if strings.Contains(logs.String(), "token lacks") {
				break
			}
		}
		return logs.String(), strings.Contains(logs.String(), "token lacks")
	}
}
