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
// a file, then upload it: b) against vigil streaming the same pg_dump (c).
// Both pay pg_dump's own compression; vigil's is off so every variant
// moves the same bytes.
func (b *bench) postgres(ctx context.Context) error {
	fmt.Printf("== postgres %d MiB: filling\n", *pgMiB)
	pg, err := harness.StartPostgres(ctx)
	if err != nil {
		return err
	}
	defer pg.Stop()
	start := time.Now()
	// About 110 bytes a row on disk, in two tables.
	rows := *pgMiB << 20 / 110
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
    preset = "postgres"
    env    = { PGHOST = %q, PGPORT = "%d", PGUSER = "postgres", PGDATABASE = "postgres" }
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
	res, err := compare(append(b.baselines(file, "pg.dump", dump), variant{"c", func() (sample, error) { return measure(b.env(), b.vigil, "run", "-config", spec, "-backup", "pg") }}))
	if err != nil {
		return err
	}
	b.addRow(fmt.Sprintf("command: pg_dump (%s database, %s dump)", mib(dbBytes), mib(st.Size())), *pgMiB, res)
	return nil
}
