package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/hcl/parse"
	"github.com/vigil-backup/vigil/tasks/health"
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
}

// TestBindingRuleSelectsOnlyItsJobs: the selector's pattern takes exactly
// the configuration's job IDs.
func TestBindingRuleSelectsOnlyItsJobs(t *testing.T) {
	s := Make(load(t, "../../examples"), DefaultOptions)
	if len(s.BindingRules) != 1 {
		t.Fatalf("binding rules: %+v", s.BindingRules)
	}
	m := regexp.MustCompile(`matches "([^"]+)"`).FindStringSubmatch(s.BindingRules[0].Selector)
	re := regexp.MustCompile(m[1])
	for id, want := range map[string]bool{
		"vigil-etcd-main": true, "vigil-verify-etcd-main": true, "vigil-serve-platform": true, "vigil-logs": true,
		"vigil-etcd-main-2": false, "vigil-serve-other": false, "vigil-etcd": false, "x-vigil-logs": false,
	} {
		if re.MatchString(id) != want {
			t.Errorf("%s: match %v, want %v", id, !want, want)
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
