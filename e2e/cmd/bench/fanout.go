package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
)

// fanout: the same etcd backup written to MinIO alone (c1) and, in one
// stream, to MinIO, fake-gcs-server and a local folder (c3). Each copy
// has its own uploader; the source is read, compressed and hashed once.
func (b *bench) fanout(ctx context.Context, size int) error {
	name := fmt.Sprintf("fanout-%d", size)
	e, file, save, err := b.filledEtcd(ctx, name, fmt.Sprintf("etcd %d MiB, one and three storages", size), func(e *harness.Etcd) error { return e.Fill(ctx, size) })
	if err != nil {
		return err
	}
	defer e.Stop()
	gdir := filepath.Join(b.dir, "gcs-"+name)
	if err := os.MkdirAll(gdir, 0o755); err != nil {
		return err
	}
	g, err := harness.StartFakeGCS(ctx, gdir, "vigil-bench")
	if err != nil {
		return err
	}
	defer g.Stop(5 * time.Second)
	local, local2 := filepath.Join(b.dir, "local-copies"), filepath.Join(b.dir, "local-copies-2")
	for _, d := range []string{local, local2} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	spec, err := b.spec(name, fmt.Sprintf(`
storage "gcs" "gcs" {
  bucket   = "vigil-bench"
  endpoint = "http://%s"
}

storage "local" "folder" {
  path = %q
}

storage "local" "folder2" {
  path = %q
}
`, g.Host, local, local2)+etcdBackup("one", "none", e.Endpoint, "")+
		fmt.Sprintf(`
backup "etcd" "three" {
  schedule    = "0 * * * *"
  storage     = [storage.s3.minio, storage.gcs.gcs, storage.local.folder]
  compression = "none"
  etcd { endpoints = [%[1]q] }
  retain { last = 1 }
}

backup "etcd" "three-local" {
  schedule    = "0 * * * *"
  storage     = [storage.s3.minio, storage.local.folder, storage.local.folder2]
  compression = "none"
  etcd { endpoints = [%[1]q] }
  retain { last = 1 }
}
`, e.Endpoint))
	if err != nil {
		return err
	}
	vigil := func(backup string) func() (sample, error) {
		return func() (sample, error) { return measure(b.env(), b.vigil, "run", "-config", spec, "-backup", backup) }
	}
	res, err := compare(append(b.baselines(file, name, save), variant{"c", vigil("one")}, variant{"c3", vigil("three")}, variant{"l3", vigil("three-local")}))
	if err != nil {
		return err
	}
	st, _ := os.Stat(file)
	row := fmt.Sprintf("etcd (db %s) to MinIO alone (c1)", mib(st.Size()))
	b.addRow(row, size, res)
	b.variantRow("  same, to MinIO + GCS emulator + local folder (c3)", size, res, "c3")
	b.variantRow("  same, to MinIO + two local folders (l3: the tee without the emulator)", size, res, "l3")
	b.table.note("%s: three storages take %s of one storage's wall time (%s vs %s), peak RSS %s vs %s", row,
		roundRatios(res["c3"], res["c"]), secs(res["c3"].median()), secs(res["c"].median()), mib(res["c3"].maxRSS()), mib(res["c"].maxRSS()))
	b.table.note("%s: MinIO and two folders take %s of one storage's wall time, peak RSS %s", row, roundRatios(res["l3"], res["c"]), mib(res["l3"].maxRSS()))
	b.table.atMost(fmt.Sprintf("etcd %d MiB, three storages c3/c1 <= 1.3", size), roundRatios(res["c3"], res["c"]), 1.3)
	b.table.atMost(fmt.Sprintf("etcd %d MiB, MinIO and two folders l3/c1 <= 1.3", size), roundRatios(res["l3"], res["c"]), 1.3)
	b.table.rssAtMost(fmt.Sprintf("etcd %d MiB, three storages peak RSS <= 96 MiB", size), res["c3"], 96<<20)
	return nil
}
