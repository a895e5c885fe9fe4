package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/store/gcs"
)

// cloud: the same etcd backup to fake-gcs-server alone and to Azurite
// alone, each against its SDK's plain upload of the saved snapshot (a):
// what vigil's streaming writer, its checks and its lock in the store
// cost over the SDK's own upload of a file.
func (b *bench) cloud(ctx context.Context, size int) error {
	name := fmt.Sprintf("cloud-%d", size)
	e, file, _, err := b.filledEtcd(ctx, name, fmt.Sprintf("etcd %d MiB, GCS and Azure emulators", size), func(e *harness.Etcd) error { return e.Fill(ctx, size) })
	if err != nil {
		return err
	}
	defer e.Stop()
	gdir, adir := filepath.Join(b.dir, "gcs-"+name), filepath.Join(b.dir, "azure-"+name)
	for _, d := range []string{gdir, adir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	const bucket = "vigil-bench"
	g, err := harness.StartFakeGCS(ctx, gdir, bucket)
	if err != nil {
		return err
	}
	defer g.Stop(5 * time.Second)
	az, err := harness.StartAzurite(ctx, adir, bucket)
	if err != nil {
		return err
	}
	defer az.Stop(5 * time.Second)
	backup := func(name, storage string) string {
		return fmt.Sprintf(`
backup "etcd" %q {
  schedule    = "0 * * * *"
  storage     = %s
  compression = "none"
  etcd { endpoints = [%q] }
  retain { last = 1 }
}
`, name, storage, e.Endpoint)
	}
	// No credentials blocks: each SDK's own chain, the emulator switch
	// for GCS and the connection string for Azure.
	spec, err := b.spec(name, fmt.Sprintf(`
storage "gcs" "gcs" {
  bucket   = %q
  endpoint = "http://%s"
}

storage "azure" "azure" {
  account   = %q
  container = %q
  endpoint  = %q
}
`, bucket, g.Host, harness.AzuriteAccount, bucket, az.BlobEndpoint())+backup("gcs-only", "storage.gcs.gcs")+backup("azure-only", "storage.azure.azure"))
	if err != nil {
		return err
	}
	env := append(b.env(), "AZURE_STORAGE_CONNECTION_STRING="+az.ConnectionString())
	vigil := func(backup string) func() (sample, error) {
		return func() (sample, error) { return measure(env, b.vigil, "run", "-config", spec, "-backup", backup) }
	}
	res, err := compare([]variant{
		{"ag", func() (sample, error) {
			return measure(env, self(), "-child-upload-gcs", "http://"+g.Host, bucket, file, "bench/raw-"+name)
		}},
		{"cg", vigil("gcs-only")},
		{"aa", func() (sample, error) {
			return measure(env, self(), "-child-upload-azure", bucket, file, "bench/raw-"+name)
		}},
		{"ca", vigil("azure-only")},
	})
	if err != nil {
		return err
	}
	st, _ := os.Stat(file)
	for _, r := range []struct{ row, a, c string }{
		{"etcd (db %s) to fake-gcs-server alone, a: the SDK's Writer", "ag", "cg"},
		{"etcd (db %s) to Azurite alone, a: the SDK's UploadFile", "aa", "ca"},
	} {
		row := fmt.Sprintf(r.row, mib(st.Size()))
		b.variantRow(row, size, map[string]series{"a": res[r.a], "c": res[r.c]}, "c")
		b.table.note("%s: vigil takes %s of the SDK's plain upload (%s vs %s), peak RSS %s", row,
			roundRatios(res[r.c], res[r.a]), secs(res[r.c].median()), secs(res[r.a].median()), mib(res[r.c].maxRSS()))
	}
	return nil
}

// uploadGCS is the SDK's plain upload of a file, with its defaults: a
// Writer's resumable upload in the library's default 16 MiB chunks.
func uploadGCS(ctx context.Context, endpoint, bucket, file, key string) error {
	c, err := gcs.NewClient(ctx, nil, endpoint)
	if err != nil {
		return err
	}
	return withFile(file, func(f *os.File) error {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		w := c.Bucket(bucket).Object(key).NewWriter(wctx)
		if _, err := io.Copy(w, f); err != nil {
			cancel() // not finalized
			w.Close()
			return err
		}
		return w.Close()
	})
}

// uploadAzure is azblob's UploadFile with its defaults, from the
// connection string in the environment.
func uploadAzure(ctx context.Context, container, file, key string) error {
	c, err := azblob.NewClientFromConnectionString(os.Getenv("AZURE_STORAGE_CONNECTION_STRING"), nil)
	if err != nil {
		return err
	}
	return withFile(file, func(f *os.File) error {
		_, err := c.UploadFile(ctx, container, key, f, nil)
		return err
	})
}

func withFile(file string, do func(*os.File) error) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	return do(f)
}
