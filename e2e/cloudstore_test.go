//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store"
	"github.com/vigil-backup/vigil/tasks/store/azure"
	"github.com/vigil-backup/vigil/tasks/store/gcs"
	"github.com/vigil-backup/vigil/tasks/store/storetest"
)

// TestGCSStoreSuite runs the shared store suite against fake-gcs-server,
// through the GCS SDK and its emulator switch (STORAGE_EMULATOR_HOST).
func TestGCSStoreSuite(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	g, err := harness.StartFakeGCS(ctx, t.TempDir(), "vigil-gcs")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop(5 * time.Second)
	t.Setenv("STORAGE_EMULATOR_HOST", g.Host)
	client, err := gcs.NewClient(ctx, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		return &gcs.Store{Client: client, Bucket: "vigil-gcs", Prefix: fmt.Sprintf("suite-%d/", n)}
	})
}

// TestAzureStoreSuite runs the shared store suite against Azurite, through
// the azblob SDK and the emulator's connection string.
func TestAzureStoreSuite(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	a, err := harness.StartAzurite(ctx, t.TempDir(), "vigil")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop(5 * time.Second)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", a.ConnectionString())
	client, err := azure.NewClient(harness.AzuriteAccount, "", "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		return &azure.Store{Client: client, Container: "vigil", Prefix: fmt.Sprintf("suite-%d/", n)}
	})
}

// TestCloudStorages: vigil run, list, retention and a drill on a gcs
// storage (fake-gcs-server at its endpoint) and an azure storage (Azurite,
// its shared key from Vault KV): each keeps one backup after two runs,
// lists it, and its drill restores it into a scratch Consul. Then the
// jobs vigil compiles run the same backups through Nomad, each reading
// the Azure key with its own identity.
func TestCloudStorages(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 4*time.Minute)
	g, a, kv := cloudEmulators(t, ctx, "vigil-e2e")
	cc, _ := stack.Consul.Client()
	cc.KV().Put(kvPair("cloud/flag", "on"), nil)
	backup := func(name, storage string) string {
		return fmt.Sprintf(`
backup "consul_kv" %q {
  schedule = "0 * * * *"
  storage  = %s
  %s
  retain { last = 1 }
  verify {
    min_keys = 1
    key "cloud/flag" {}
    scratch { consul = %q }
  }
}`, name, storage, consulSource(t, stack.Consul.URL(), "cloud/"), tool("consul"))
	}
	dir, _ := specDir(t, cloudStorages(g, a, kv, "vigil-e2e")+backup("cloud-gcs", "storage.gcs.offsite")+backup("cloud-azure", "storage.azure.dr"))
	for _, name := range []string{"cloud-gcs", "cloud-azure"} {
		for i := 0; i < 2; i++ {
			if r := vigil(t, "", "run", "-config", dir, "-backup", name); r.code != 0 {
				t.Fatalf("%s run %d: %s", name, i, r)
			}
		}
		r := vigil(t, "", "list", "-config", dir, "-backup", name)
		if r.code != 0 || strings.Count(r.stdout, "\n") != 2 {
			t.Errorf("%s: list after two runs with retain last = 1: %s", name, r)
		}
		if last := lastRecord(t, name); last.Status != record.Succeeded {
			t.Errorf("%s: record %+v", name, last)
		}
		if r := vigil(t, "", "verify", "-config", dir, "-backup", name); r.code != 0 {
			t.Errorf("%s: drill: %s", name, r)
		}
	}

	defer purgeVigilJobs(t)
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	for _, name := range []string{"cloud-gcs", "cloud-azure"} {
		alloc, err := stack.Nomad.ForceRun(ctx, "vigil-"+name, 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if alloc.ClientStatus != "complete" {
			t.Fatalf("%s: the forced job: %s\n%s", name, alloc.ClientStatus, stack.Nomad.Explain(alloc))
		}
		if last := lastRecord(t, name); last.Status != record.Succeeded || last.AllocID != alloc.ID {
			t.Errorf("%s: the forced job's record: %+v", name, last)
		}
	}
}

// cloudEmulators starts fake-gcs-server with bucket and Azurite with the
// container "vigil", stopped when the test ends, and writes Azurite's
// shared key to a Vault KV path of the test's own: the path is returned.
func cloudEmulators(t *testing.T, ctx context.Context, bucket string) (*harness.FakeGCS, *harness.Azurite, string) {
	t.Helper()
	g, err := harness.StartFakeGCS(ctx, t.TempDir(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Stop(5 * time.Second) })
	a, err := harness.StartAzurite(ctx, t.TempDir(), "vigil")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(5 * time.Second) })
	kv := "secret/data/vigil/azure-" + configID(t)
	root, _ := stack.Vault.Root()
	if _, err := root.Logical().WriteWithContext(ctx, kv, map[string]any{"data": map[string]any{"account_key": harness.AzuriteKey}}); err != nil {
		t.Fatal(err)
	}
	return g, a, kv
}

// cloudStorages are a gcs storage "offsite" on bucket of g and an azure
// storage "dr" on Azurite's container "vigil", its key from Vault KV kv.
func cloudStorages(g *harness.FakeGCS, a *harness.Azurite, kv, bucket string) string {
	return fmt.Sprintf(`
storage "gcs" "offsite" {
  bucket   = %q
  prefix   = "e2e"
  endpoint = "http://%s"
}

storage "azure" "dr" {
  account   = %q
  container = "vigil"
  prefix    = "e2e"
  endpoint  = %q
  credentials {
    vault_kv_path = %q
  }
}
`, bucket, g.Host, harness.AzuriteAccount, a.BlobEndpoint(), kv)
}

// TestAzureCredentialChain: without a credentials block, an azure
// storage takes AZURE_STORAGE_KEY for its account (Azurite accepts it).
// What comes after it in the chain is tested in tasks/store/azure.
func TestAzureCredentialChain(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	a, err := harness.StartAzurite(ctx, t.TempDir(), "chain")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop(5 * time.Second)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	t.Setenv("AZURE_STORAGE_KEY", harness.AzuriteKey)
	c, err := azure.NewClient(harness.AzuriteAccount, a.BlobEndpoint(), "")
	if err != nil {
		t.Fatal(err)
	}
	s := &azure.Store{Client: c, Container: "chain"}
	if err := s.Put(ctx, "k", strings.NewReader("with the key from the environment"), -1); err != nil {
		t.Fatalf("put with AZURE_STORAGE_KEY: %v", err)
	}

}
