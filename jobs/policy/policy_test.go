package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/hcl/parse"
	"github.com/vigil-backup/vigil/jobs"
	"github.com/vigil-backup/vigil/tasks/health"
	"github.com/vigil-backup/vigil/tasks/record"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func load(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, _, diags := parse.Load(path, parse.Options{})
	if diags.HasErrors() {
		t.Fatalf("%s: %s", path, diags.Error())
	}
	return cfg
}

// TestGoldenSetup pins what vigil setup derives from the examples and
// from a spec using every credential source.
func TestGoldenSetup(t *testing.T) {
	for name, path := range map[string]string{"examples": "../../examples", "secure": "testdata/secure"} {
		s := Make(load(t, path), DefaultOptions)
		got, _ := json.MarshalIndent(s, "", "  ")
		golden := filepath.Join("testdata", name+".golden.json")
		if *update {
			os.WriteFile(golden, append(got, '\n'), 0o644)
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (go test ./jobs/policy -update writes it)", err)
		}
		if !bytes.Equal(append(got, '\n'), want) {
			t.Errorf("%s differs; run go test ./jobs/policy -update and review the diff", golden)
		}
	}
}

// TestServeNamesMatchTheRuntime: the rules name what vigil serve writes.
func TestServeNamesMatchTheRuntime(t *testing.T) {
	if serveService != health.ServiceID || !strings.HasPrefix(health.LeaderKey("n"), leaderPrefix+"n/") {
		t.Fatalf("policy names %q %q; serve writes %q %q", serveService, leaderPrefix, health.ServiceID, health.LeaderKey("n"))
	}
	if want := config.RecordPrefix + "b/" + registeredKey; record.RegisteredKey("b") != want {
		t.Fatalf("policy names %q; serve writes %q", want, record.RegisteredKey("b"))
	}
}

// TestBindingRuleSelectsOnlyItsJobs: each job's identity is bound to its
// own role by its namespace and job ID together, and to nothing else.
func TestBindingRuleSelectsOnlyItsJobs(t *testing.T) {
	cfg := load(t, "../../examples")
	s := Make(cfg, DefaultOptions)
	ids := jobs.Identities(cfg)
	if len(s.BindingRules) != len(ids) {
		t.Fatalf("%d binding rules for %d jobs", len(s.BindingRules), len(ids))
	}
	for i, j := range ids {
		r := s.BindingRules[i]
		want := fmt.Sprintf(`value.nomad_namespace == %q and value.nomad_job_id == %q`, j.Namespace, j.JobID)
		if r.BindName != j.Name || r.Selector != want {
			t.Errorf("job %s: bound to %s by %s", j.JobID, r.BindName, r.Selector)
		}
	}
}

// TestWithout drops exactly one rule.
func TestWithout(t *testing.T) {
	p := Policy{Rules: []Rule{{Text: "a"}, {Text: "b"}, {Text: "c"}}}
	q := p.Without(1)
	if len(q.Rules) != 2 || q.Rules[0].Text != "a" || q.Rules[1].Text != "c" || len(p.Rules) != 3 {
		t.Fatalf("%+v %+v", p, q)
	}
}

// TestHostVolumeRule: Nomad checks a job's host volumes against the token
// that submits it, so the operator's policy names each one local storages
// mount.
func TestHostVolumeRule(t *testing.T) {
	cfg := &config.Config{ID: "t", Backups: []config.Backup{
		{Name: "a", Storage: config.Storage{Kind: config.StorageLocal, Path: "/b", HostVolume: "nas"}},
		{Name: "b", Storage: config.Storage{Kind: config.StorageLocal, Path: "/b", HostVolume: "nas"}},
		{Name: "c", Storage: config.Storage{Kind: config.StorageS3},
			Nomad: config.Nomad{Mounts: []config.Mount{{Volume: "tls", Path: "/etc/tls", ReadOnly: true}}}},
	}}
	s := Make(cfg, DefaultOptions)
	var rules []string
	for _, p := range s.Policies {
		if p.System == SystemNomad && p.Name == "vigil-t-operator" {
			for _, r := range p.Rules {
				rules = append(rules, r.Text)
			}
		}
	}
	all := strings.Join(rules, "\n")
	if n := strings.Count(all, `host_volume "nas"`); n != 1 || !strings.Contains(all, "host_volume \"nas\" {\n  policy = \"write\"") ||
		!strings.Contains(all, "host_volume \"tls\" {\n  policy = \"read\"") {
		t.Errorf("operator rules: %q", rules)
	}
}
