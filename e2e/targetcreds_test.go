//go:build e2e

package e2e

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/creds"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestConsulTokenDiesWithTheRun: the token a run reads a Consul with comes
// from consul/creds for that run alone. The proxy in front of Consul sees
// which token the export used: not the control token, and refused by
// Consul once the run has ended (Vault deleted it with the lease).
func TestConsulTokenDiesWithTheRun(t *testing.T) {
	needStack(t)
	testContext(t, 2*time.Minute)
	cc, _ := stack.Consul.Client()
	cc.KV().Put(kvPair("tokens/a", "1"), nil)
	p, err := startConsulProxy()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dir, _ := specDir(t, `
backup "consul_kv" "token-dies" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  `+consulSource(t, p.URL, "tokens/")+`
}`)
	r := vigil(t, "", "run", "-config", dir, "-backup", "token-dies")
	if r.code != 0 || !strings.Contains(r.stderr, "revoked the run's credentials lease") {
		t.Fatalf("run: %s", r)
	}
	used := p.Tokens("/v1/kv")
	if len(used) != 1 || used[0] == tokensFor([]string{dir}).Consul {
		t.Fatalf("the export should use one token of its own, not the control token: %d tokens", len(used))
	}
	c, err := consul.NewClient(&consul.Config{Address: hostPort(stack.Consul.URL()), Scheme: "https", Token: used[0],
		TLSConfig: consul.TLSConfig{CAFile: stack.Sec.CA.File}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.KV().List("tokens/", nil)
	if err == nil || !strings.Contains(err.Error(), "ACL not found") {
		t.Fatalf("the run's token still works after the run: %v", err)
	}
	if strings.Contains(r.stderr, used[0]) || strings.Contains(r.stdout, used[0]) {
		t.Fatal("the run printed its Consul token")
	}
}

// TestEtcdCertificateDiesWithTheRun: a run's etcd client certificate is
// revoked when its session closes. The same session a run opens gives a
// certificate etcd accepts; after Close its serial is in Vault's CRL, and
// etcd, given that CRL, refuses it. A real run leaves one more revoked
// serial behind.
func TestEtcdCertificateDiesWithTheRun(t *testing.T) {
	needStack(t)
	if stack.Sec == nil {
		t.Skip("the open lab has no PKI")
	}
	ctx := testContext(t, 2*time.Minute)
	ec, _ := stack.Etcd.Client()
	ec.Put(ctx, "certs/a", "1")
	ec.Close()
	dir, _ := specDir(t, `
backup "etcd" "cert-dies" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  `+etcdSource(t, stack.Etcd.Endpoint)+`
}`)
	root, _ := stack.Vault.Root()
	revoked := func() map[string]bool {
		s, err := root.Logical().ListWithContext(ctx, "pki/certs/revoked")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		if s != nil {
			for _, k := range s.Data["keys"].([]any) {
				out[k.(string)] = true
			}
		}
		return out
	}
	before := revoked()
	if r := vigil(t, "", "run", "-config", dir, "-backup", "cert-dies"); r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	if after := revoked(); len(after) != len(before)+1 {
		t.Fatalf("the run should leave its certificate revoked: %d revoked before, %d after", len(before), len(after))
	}

	// The certificate itself, through the session a run uses.
	vc, _ := stack.Vault.Client(tokensFor([]string{dir}).Vault)
	tc := &config.TargetCredentials{Source: config.CredVaultPKI, VaultPath: "pki/issue/" + configID(t), CommonName: "vigil"}
	sess, err := creds.OpenTarget(ctx, tc, creds.Options{Vault: vc.Logical()}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	get := func() error {
		conf := stack.Sec.CA.ClientTLS(nil)
		conf.Certificates = append(conf.Certificates, *sess.Secrets.Certificate)
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{stack.Etcd.Endpoint}, TLS: conf, DialTimeout: 3 * time.Second})
		if err != nil {
			return err
		}
		defer c.Close()
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err = c.Get(cctx, "certs/a")
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("a fresh certificate refused: %v", err)
	}
	if err := sess.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Vault serves its CRL (DER) without a token, as etcd's --client-crl-file takes it.
	resp, err := stack.Sec.HTTPClient().Get(stack.Vault.URL() + "/v1/pki/crl")
	if err != nil {
		t.Fatal(err)
	}
	der, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("vault pki/crl: %d %v", resp.StatusCode, err)
	}
	if err := os.WriteFile(stack.Etcd.CRLFile, der, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := get(); err == nil {
		t.Fatal("etcd still accepts the certificate after the session revoked it")
	}
	// The refusal is the revocation's: a fresh certificate still works.
	if sess, err = creds.OpenTarget(ctx, tc, creds.Options{Vault: vc.Logical()}, time.Minute); err != nil {
		t.Fatal(err)
	}
	defer sess.Close(ctx)
	if err := get(); err != nil {
		t.Fatalf("a fresh certificate refused after the CRL update: %v", err)
	}
}
