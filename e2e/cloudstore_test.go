//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
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
	client, err := gcs.NewClient(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
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
