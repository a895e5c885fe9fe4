package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/store"
	"github.com/vigil-backup/vigil/tasks/store/azure"
	"github.com/vigil-backup/vigil/tasks/store/gcs"
)

// cloudChild uploads a file through the GCS or Azure SDK, as vigil's
// stores call it, in a process of its own (the raw upload, a):
//
//	-child-upload-gcs ENDPOINT BUCKET FILE KEY
//	-child-upload-azure ENDPOINT CONTAINER FILE KEY
func cloudChild(args []string) error {
	if len(args) != 5 {
		return fmt.Errorf("bad arguments")
	}
	ctx := context.Background()
	var s store.Store
	switch args[0] {
	case "-child-upload-gcs":
		c, err := gcs.NewClient(ctx, nil, args[1])
		if err != nil {
			return err
		}
		s = &gcs.Store{Client: c, Bucket: args[2]}
	case "-child-upload-azure":
		c, err := azure.NewClient(harness.AzuriteAccount, args[1], harness.AzuriteKey)
		if err != nil {
			return err
		}
		s = &azure.Store{Client: c, Container: args[2]}
	default:
		return fmt.Errorf("unknown child %s", args[0])
	}
	f, err := os.Open(args[3])
	if err != nil {
		return err
	}
	defer f.Close()
	st, _ := f.Stat()
	return s.Put(ctx, args[4], f, st.Size())
}

// cloud: vigil writing an etcd backup to GCS (fake-gcs-server) and to
// Azure Blob Storage (Azurite) alone, against the same SDK uploading the
// saved snapshot file (a).
func (b *bench) cloud(ctx context.Context, size int) error {
	name := fmt.Sprintf("cloud-%d", size)
	e, file, _, err := b.filledEtcd(ctx, name, fmt.Sprintf("etcd %d MiB to GCS and Azure emulators", size), func(e *harness.Etcd) error { return e.Fill(ctx, size) })
	if err != nil {
		return err
	}
	defer e.Stop()
	gdir, adir := filepath.Join(b.dir, "gcs-"+name), filepath.Join(b.dir, "azurite-"+name)
	for _, d := range []string{gdir, adir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	g, err := harness.StartFakeGCS(ctx, gdir, "vigil-bench")
	if err != nil {
		return err
	}
	defer g.Stop(5 * time.Second)
	az, err := harness.StartAzurite(ctx, adir, "vigil")
	if err != nil {
		return err
	}
	defer az.Stop(5 * time.Second)
	spec, err := b.spec(name, fmt.Sprintf(`
storage "gcs" "gcs" {
  bucket   = "vigil-bench"
  endpoint = "http://%s"
}

storage "azure" "azure" {
  account   = %q
  container = "vigil"
  endpoint  = %q
}
`, g.Host, harness.AzuriteAccount, az.BlobEndpoint())+cloudBackup("to-gcs", "storage.gcs.gcs", e.Endpoint)+cloudBackup("to-azure", "storage.azure.azure", e.Endpoint))
	if err != nil {
		return err
	}
	env := append(b.env(), "AZURE_STORAGE_CONNECTION_STRING="+az.ConnectionString())
	st, _ := os.Stat(file)
	for _, c := range []struct{ kind, backup, child, endpoint, bucket string }{
		{"GCS emulator", "to-gcs", "-child-upload-gcs", "http://" + g.Host, "vigil-bench"},
		{"Azurite", "to-azure", "-child-upload-azure", az.BlobEndpoint(), "vigil"},
	} {
		n := 0
		res, err := compare([]variant{
			{"a", func() (sample, error) {
				n++
				return measure(env, self(), c.child, c.endpoint, c.bucket, file, fmt.Sprintf("bench/raw-%d", n))
			}},
			{"c", func() (sample, error) { return measure(env, b.vigil, "run", "-config", spec, "-backup", c.backup) }},
		})
		if err != nil {
			return err
		}
		row := fmt.Sprintf("etcd (db %s) to the %s alone", mib(st.Size()), c.kind)
		b.addRow(row, size, res)
		b.table.note("%s: vigil takes %s of the SDK's own upload of the saved file (a)", row, roundRatios(res["c"], res["a"]))
	}
	return nil
}

// cloudBackup is an uncompressed etcd backup to storage.
func cloudBackup(name, storage, endpoint string) string {
	return fmt.Sprintf(`
backup "etcd" %q {
  schedule    = "0 * * * *"
  storage     = %s
  compression = "none"
  etcd { endpoints = [%q] }
  retain { last = 1 }
}
`, name, storage, endpoint)
}
