//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/plugin/scratch"
)

// TestKVHiddenByACLsFails: the bug this stack was built to find. The
// run's Consul token may read only half of the prefix; Consul filters the
// other half out of the recursive read silently (it says so only in a
// header). The run fails, says keys were hidden, and gets no manifest.
func TestKVHiddenByACLsFails(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 3*time.Minute)
	cc, _ := stack.Consul.Client()
	for i := 0; i < 60; i++ {
		half := "open"
		if i%2 == 1 {
			half = "closed"
		}
		if _, err := cc.KV().Put(kvPair(fmt.Sprintf("acl-half/%s/k%02d", half, i), "v"), nil); err != nil {
			t.Fatal(err)
		}
	}
	dir, prefix := specDir(t, `
backup "consul_kv" "acl-half" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  `+consulSource(t, stack.Consul.URL(), "acl-half/")+`
}`)
	// The policy setup wrote reads the whole prefix: take half away.
	name := "vigil-" + configID(t) + "-target-acl-half"
	pol, _, err := cc.ACL().PolicyReadByName(name, nil)
	if err != nil || pol == nil {
		t.Fatalf("read %s: %v", name, err)
	}
	pol.Rules += "\nkey_prefix \"acl-half/closed/\" { policy = \"deny\" }\n"
	if _, _, err := cc.ACL().PolicyUpdate(pol, nil); err != nil {
		t.Fatal(err)
	}
	r := vigil(t, "", "run", "-config", dir, "-backup", "acl-half")
	if r.code != 1 || !strings.Contains(r.stderr, "hidden from the token by ACLs") || !strings.Contains(r.stderr, `key_prefix \"acl-half/\" read`) {
		t.Fatalf("run with half of the prefix hidden: %s", r)
	}
	if ms := manifests(t, ctx, prefix, "acl-half"); len(ms) != 0 {
		t.Fatalf("half a prefix got a manifest: %v", ms)
	}
	if last := lastRecord(t, "acl-half"); last.Status != "failed" {
		t.Fatalf("record: %+v", last)
	}
}

// TestTLSRefusals: a wrong CA, a server name that does not match, an
// expired client certificate. Each fails fast, naming the host and the
// reason; none falls back to plain HTTP or to skipping verification.
func TestTLSRefusals(t *testing.T) {
	needStack(t)
	if stack.Sec == nil {
		t.Skip("the open lab has no TLS")
	}
	other, err := scratch.NewCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	expired, err := stack.Sec.CA.Issue("vigil-expired", scratch.CertOptions{Client: true,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := stack.Consul.Client()
	cc.KV().Put(kvPair("tls/a", "1"), nil)
	ec, err := stack.Etcd.Client()
	if err != nil {
		t.Fatal(err)
	}
	ec.Put(testContext(t, time.Minute), "tls/a", "1")
	ec.Close()
	consulHost := hostPort(stack.Consul.URL())
	unknownCA := "certificate signed by unknown authority"

	cases := []struct {
		name string
		// source is the backup's source block; control, when set,
		// replaces the harness CA in the spec's control blocks after
		// setup ran (setup itself needs them right).
		source, control string
		args            []string
		want            []string
	}{
		{name: "source_wrong_ca", source: fmt.Sprintf(`consul {
    address = %q
    prefix  = "tls/"
    ca_file = %q
  }`, stack.Consul.URL(), other.File), want: []string{consulHost, unknownCA}},
		{name: "source_name_mismatch", source: fmt.Sprintf(`consul {
    address         = %q
    prefix          = "tls/"
    ca_file         = %q
    tls_server_name = "consul.wrong.example"
  }`, stack.Consul.URL(), stack.Sec.CA.File), want: []string{consulHost, "not consul.wrong.example"}},
		{name: "etcd_wrong_ca", source: fmt.Sprintf(`etcd {
    endpoints = [%q]
    ca_file   = %q
    cert_file = %q
    key_file  = %q
  }`, stack.Etcd.Endpoint, other.File, stack.Sec.EtcdRoot.CertFile, stack.Sec.EtcdRoot.KeyFile), want: []string{hostPort(stack.Etcd.Endpoint), unknownCA}},
		{name: "etcd_expired_client_cert", source: fmt.Sprintf(`etcd {
    endpoints = [%q]
    ca_file   = %q
    cert_file = %q
    key_file  = %q
  }`, stack.Etcd.Endpoint, stack.Sec.CA.File, expired.CertFile, expired.KeyFile), want: []string{hostPort(stack.Etcd.Endpoint), expired.CertFile, "expired"}},
		{name: "control_wrong_ca", control: other.File, want: []string{consulHost, unknownCA}},
		{name: "vault_wrong_ca", control: "vault:" + other.File, want: []string{hostPort(stack.Vault.URL()), unknownCA}},
		{name: "nomad_wrong_ca", args: []string{"plan"}, want: []string{hostPort(stack.Nomad.URL()), unknownCA}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			source := c.source
			if source == "" {
				source = consulSource(t, stack.Consul.URL(), "tls/")
			}
			typ := "consul_kv"
			if strings.HasPrefix(source, "etcd") {
				typ = "etcd"
			}
			name := strings.ReplaceAll(c.name, "_", "-")
			dir, _ := specDir(t, fmt.Sprintf(`
backup %q %q {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}`, typ, name, source))
			args := []string{"run", "-config", dir, "-backup", name}
			env := envFor("", []string{dir})
			// The control Consul's and Vault's CLI variables win over the
			// spec: without CONSUL_CACERT or VAULT_CACERT the spec's
			// ca_file is the one used.
			switch {
			case strings.HasPrefix(c.control, "vault:"):
				spec := readSpec(t, dir)
				i := strings.Index(spec, "vault {")
				writeSpec(t, dir, spec[:i]+strings.Replace(spec[i:], stack.Sec.CA.File, strings.TrimPrefix(c.control, "vault:"), 1))
				env = without(env, "VAULT_CACERT")
			case c.control != "":
				writeSpec(t, dir, strings.Replace(readSpec(t, dir), stack.Sec.CA.File, c.control, 1))
				env = without(env, "CONSUL_CACERT")
			case len(c.args) > 0:
				args = append(c.args, dir)
				env = append(env, "NOMAD_CACERT="+other.File) // the last value wins
			}
			start := time.Now()
			r := vigilEnv(t, env, args...)
			took := time.Since(start)
			if r.code == 0 {
				t.Fatalf("succeeded despite the TLS fault: %s", r)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("the error does not name %q: %s", w, r)
				}
			}
			if strings.Contains(r.stderr, "http://") {
				t.Errorf("fell back to plain HTTP: %s", r)
			}
			// Fast: no retry loop around a handshake that cannot succeed
			// (the bound is loose; the figure is logged).
			if took > 30*time.Second {
				t.Errorf("took %s to refuse", took)
			}
			t.Logf("refused in %s: %s", took.Round(time.Millisecond), lastLine(r.stderr))
		})
	}
}

// without is env with no value for the variable name.
func without(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
