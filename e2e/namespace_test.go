//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/tasks/record"
)

// TestNonDefaultNamespace: jobs in a Nomad namespace other than default
// work end to end. vigil setup binds the namespace's workload identities
// (Consul binding rule, Vault JWT role) and gives the operator a policy for
// that namespace alone; apply registers there; a forced run logs in to
// Consul and Vault with its identity and writes a good backup.
func TestNonDefaultNamespace(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	const ns = "backups"
	nc, _ := stack.Nomad.Client()
	if _, err := nc.Namespaces().Register(&nomad.Namespace{Name: ns, Description: "vigil e2e"}, nil); err != nil {
		t.Fatal(err)
	}
	cc, _ := stack.Consul.Client()
	cc.KV().Put(kvPair("ns/a", "1"), nil)
	dir, prefix := specDir(t, `
backup "consul_kv" "in-ns" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  `+consulSource(t, stack.Consul.URL(), "ns/")+`
}`)
	// specDir ran setup for the default namespace; move the spec and set
	// it up again, as an operator would.
	writeSpec(t, dir, strings.Replace(readSpec(t, dir), "nomad {\n", "nomad {\n  namespace = \""+ns+"\"\n", 1))
	setupSpec(t, dir, configID(t))
	r := vigil(t, "", "setup", dir)
	if r.code != 0 || !strings.Contains(r.stdout, `value.nomad_namespace == "`+ns+`"`) || !strings.Contains(r.stdout, `namespace "`+ns+`"`) {
		t.Fatalf("setup should bind and grant namespace %s: %s", ns, r)
	}
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply into %s with the operator policy setup wrote: %s", ns, r)
	}
	defer func() {
		stubs, _, _ := nc.Jobs().List(&nomad.QueryOptions{Namespace: ns, Prefix: "vigil-"})
		for _, s := range stubs {
			nc.Jobs().Deregister(s.ID, true, &nomad.WriteOptions{Namespace: ns})
		}
	}()
	if _, _, err := nc.Jobs().Info("vigil-in-ns", &nomad.QueryOptions{Namespace: ns}); err != nil {
		t.Fatalf("vigil-in-ns not in namespace %s: %v", ns, err)
	}
	if _, _, err := nc.Jobs().Info("vigil-in-ns", nil); err == nil {
		t.Fatal("vigil-in-ns registered in the default namespace too")
	}
	alloc, err := stack.Nomad.ForceRunIn(ctx, ns, "vigil-in-ns", 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if alloc.ClientStatus != "complete" {
		t.Fatalf("allocation %s %s\n%s", alloc.ID, alloc.ClientStatus, stack.Nomad.Explain(alloc))
	}
	m, _ := latestManifest(t, ctx, prefix, "in-ns")
	if last := lastRecord(t, "in-ns"); last.Status != record.Succeeded || last.Object != m.Object || last.AllocID != alloc.ID {
		t.Fatalf("record %+v, manifest %+v", last, m)
	}
	// Plan with the operator token setup made: no changes, and no 403
	// from looking for orphans in a namespace the token cannot read.
	if r := vigil(t, "", "plan", dir); r.code != 0 || !strings.Contains(r.stdout, `may not list jobs in namespace "default"`) {
		t.Fatalf("plan in %s after apply: %s", ns, r)
	}
}
