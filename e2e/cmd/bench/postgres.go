package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
)

// postgres: a command backup of a PostgreSQL of about pg-mib MiB, the
// way an operator would do it without vigil (pg_dump --format=custom to
// a file, then upload it: b) against vigil streaming the same pg_dump
// with its own compression off, so both move the same bytes (c), and
// against vigil as preset = "postgres" runs it: pg_dump uncompressed, and
// vigil's zstd compressing the stream (z).
func (b *bench) postgres(ctx context.Context) error {
	fmt.Printf("== postgres %d MiB: filling\n", *pgMiB)
	pg, err := harness.StartPostgres(ctx)
	if err != nil {
		return err
	}
	defer pg.Stop()
	start := time.Now()
	// About 77 bytes a row on disk (tuple headers included), in two tables.
	rows := *pgMiB << 20 / 77
	if _, err := pg.SQL(ctx, fmt.Sprintf(`CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note, now() AS at FROM generate_series(1, %d) g;
CREATE TABLE items AS SELECT g AS id, g %% 977 AS order_id, md5((g * 7)::text) AS sku FROM generate_series(1, %d) g;`, rows/2, rows/2)); err != nil {
		return err
	}
	size, _ := pg.SQL(ctx, "SELECT pg_database_size('postgres')")
	dbBytes, _ := strconv.ParseInt(size, 10, 64)
	fmt.Printf("   filled %s in %.1fs\n", mib(dbBytes), time.Since(start).Seconds())
	// pg_dump as the superuser over the socket (trust), as on the node.
	env := append(b.env(), "PGHOST="+pg.Socket, "PGPORT="+strconv.Itoa(pg.Port), "PGUSER=postgres", "PGDATABASE=postgres")
	spec, err := b.spec("postgres", fmt.Sprintf(`
backup "command" "pg" {
  schedule    = "0 * * * *"
  storage     = storage.s3.minio
  compression = "none"
  command {
    dump = ["pg_dump", "--format=custom", "--no-owner"]
    env  = { PGHOST = %[1]q, PGPORT = "%[2]d", PGUSER = "postgres", PGDATABASE = "postgres" }
  }
  retain { last = 1 }
}

backup "command" "pg-zstd" {
  schedule = "0 * * * *"
  storage  = storage.s3.minio
  command {
    preset = "postgres"
    env    = { PGHOST = %[1]q, PGPORT = "%[2]d", PGUSER = "postgres", PGDATABASE = "postgres" }
  }
  retain { last = 1 }
}
`, pg.Socket, pg.Port))
	if err != nil {
		return err
	}
	file := filepath.Join(b.dir, "pg.dump")
	dump := saveStdout(env, file, "pg_dump", "--format=custom", "--no-owner")
	if _, err := dump(); err != nil {
		return err
	}
	st, _ := os.Stat(file)
	vigil := func(backup string) func() (sample, error) {
		return func() (sample, error) { return measure(b.env(), b.vigil, "run", "-config", spec, "-backup", backup) }
	}
	// The source alone: each pg_dump into /dev/null.
	sources := []variant{
		{"s", saveStdout(env, os.DevNull, "pg_dump", "--format=custom", "--no-owner")},
		{"sz", saveStdout(env, os.DevNull, "pg_dump", "--format=custom", "--compress=0", "--no-owner")},
	}
	res, err := compare(append(append(b.baselines(file, "pg.dump", dump), sources...), variant{"c", vigil("pg")}, variant{"z", vigil("pg-zstd")}))
	if err != nil {
		return err
	}
	row := fmt.Sprintf("command: pg_dump (%s database, %s dump)", mib(dbBytes), mib(st.Size()))
	b.addRow(row, *pgMiB, res)
	b.variantRow("  same, preset: pg_dump --compress=0, vigil's zstd", *pgMiB, res, "z")
	b.limitRow(row, res, "c")
	b.limitRow("  same, preset (s: pg_dump --compress=0)", map[string]series{"s": res["sz"], "a": res["a"], "z": res["z"]}, "z")
	b.table.note("%s, preset with zstd: %s stored", row, mib(b.stored("pg-zstd/")))
	b.table.atMost(row+", same bytes c/b <= 0.8", roundRatios(res["c"], res["b"]), 0.8)
	b.table.atMost(row+", preset c/b <= 0.8", roundRatios(res["z"], res["b"]), 0.8)
	b.table.rssAtMost(row+", preset peak RSS <= 64 MiB", res["z"], 64<<20)
	return nil
}
