//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/record"
)

// TestCommandBackupOfPostgres: a real PostgreSQL with 100k rows in three
// tables is backed up by a command backup (pg_dump --format=custom) with a
// database user from Vault's database engine, which works during the run
// and is gone after it, by hand and by the forced Nomad job; the backup
// restores with vigil restore into a second PostgreSQL that then answers
// the same queries, and its drill (a scratch PostgreSQL) asks them too. Dumps that fail
// (exit 1 after 50 MiB, killed, hung past their timeout, a login refused)
// leave no manifest and say why; the next good run is green, and the
// database password is in no output or record.
func TestCommandBackupOfPostgres(t *testing.T) {
	needStack(t)
	if stack.Sec == nil {
		t.Skip("the open lab has no Vault database engine")
	}
	ctx := testContext(t, 6*time.Minute)
	src, err := harness.StartPostgres(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Stop()
	dst, err := harness.StartPostgres(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Stop()
	if _, err := src.SQL(ctx, `CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 60000) g;
CREATE TABLE items AS SELECT g AS id, g % 977 AS order_id FROM generate_series(1, 30000) g;
CREATE TABLE users AS SELECT g AS id, 'user-' || g AS name FROM generate_series(1, 10000) g;`); err != nil {
		t.Fatal(err)
	}
	const check = `SELECT (SELECT count(*) FROM orders) || '/' || (SELECT count(*) FROM items) || '/' || (SELECT count(*) FROM users) || '/' || (SELECT md5(string_agg(note, ',' ORDER BY id)) FROM orders)`
	want, err := src.SQL(ctx, check)
	if err != nil {
		t.Fatal(err)
	}

	// Vault's database engine: a read-only user per run, and a role
	// whose users may not log in (the refused login).
	mount := postgresEngine(t, ctx, src)
	spy := filepath.Join(t.TempDir(), "password")
	command := func(dump, creds, extra string) string {
		return fmt.Sprintf(`command {
    dump    = %s
    restore = ["pg_restore", "--no-owner", "--dbname=postgres"]
    env     = { PGHOST = "127.0.0.1", PGPORT = "%d", PGDATABASE = "postgres" }
    %s
    credentials {
      vault_database = "%s/creds/%s"
      username_env   = "PGUSER"
      password_env   = "PGPASSWORD"
    }
  }`, dump, src.Port, extra, mount, creds)
	}
	backup := func(name, dump, creds, extra string) string {
		return fmt.Sprintf(`
backup "command" %q {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}`, name, command(dump, creds, extra))
	}
	// The drill: a scratch PostgreSQL of the drill's own, the backup
	// restored into it, and the same queries asked.
	bin, _ := harness.PostgresBin()
	wantOrders, _ := src.SQL(ctx, `SELECT md5(string_agg(note, ',' ORDER BY id)) FROM orders`)
	drill := fmt.Sprintf(`
  verify {
    schedule = "0 4 * * *"
    scratch {
      init  = ["%[1]s/initdb", "-D", "{{ .Dir }}/data", "-U", "postgres", "-A", "trust"]
      start = ["%[1]s/postgres", "-D", "{{ .Dir }}/data", "-p", "{{ .Port }}", "-k", "{{ .Dir }}", "-c", "listen_addresses=127.0.0.1"]
      ready = ["pg_isready", "-h", "127.0.0.1", "-p", "{{ .Port }}"]
      env   = { PGHOST = "127.0.0.1", PGPORT = "{{ .Port }}", PGUSER = "postgres" }
      user  = "postgres"
    }
    assert "rows" {
      command = ["psql", "-At", "-c", "SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM items) + (SELECT count(*) FROM users)"]
      min     = 100000
    }
    assert "orders checksum" {
      command = ["psql", "-At", "-c", "SELECT md5(string_agg(note, ',' ORDER BY id)) FROM orders"]
      expect  = %[2]q
    }
  }`, bin, wantOrders)
	// The good dump also notes the password it was given, for the scan.
	dir, prefix := specDir(t,
		strings.Replace(backup("pg-orders", fmt.Sprintf(`["sh", "-c", "printf %%s \"$PGPASSWORD\" > %s; exec pg_dump --format=custom --no-owner"]`, spy), "orders-backup", ""), "\n}", drill+"\n}", 1)+
			backup("pg-exit1", `["sh", "-c", "head -c 52428800 /dev/urandom; echo 'pg_dump: error: query failed' >&2; exit 1"]`, "orders-backup", "")+
			backup("pg-killed", `["sh", "-c", "head -c 1048576 /dev/urandom; kill -9 $$"]`, "orders-backup", "")+
			backup("pg-hangs", `["sh", "-c", "echo started; sleep 120"]`, "orders-backup", `timeout = "2s"`)+
			backup("pg-refused", `["pg_dump", "--format=custom"]`, "no-login", ""))

	r := vigil(t, "", "run", "-config", dir, "-backup", "pg-orders")
	if r.code != 0 {
		t.Fatalf("backup: %s", r)
	}
	m, _ := latestManifest(t, ctx, prefix, "pg-orders")
	if last := lastRecord(t, "pg-orders"); last.Status != record.Succeeded || last.Object != m.Object {
		t.Fatalf("record %+v, manifest %+v", last, m)
	}
	// The run's user is gone: Vault revoked its lease, which drops it.
	if n, err := src.SQL(ctx, `SELECT count(*) FROM pg_roles WHERE rolname LIKE 'v-%'`); err != nil || n != "0" {
		t.Errorf("database users left after the run: %s %v", n, err)
	}
	password, _ := os.ReadFile(spy)
	if len(password) < 8 {
		t.Fatalf("the dump got no password: %q", password)
	}

	// Restore into the second server with the operator's own login.
	env := append(envFor("", []string{dir}), "PGPASSWORD="+dst.Password)
	r = vigilEnv(t, env, "restore", "-config", dir, "-backup", "pg-orders", "-latest",
		"-to", fmt.Sprintf("PGHOST=127.0.0.1,PGPORT=%d,PGUSER=postgres", dst.Port))
	if r.code != 0 {
		t.Fatalf("restore: %s", r)
	}
	if got, err := dst.SQL(ctx, check); err != nil || got != want {
		t.Fatalf("the restored database answers %q (%v), want %q", got, err, want)
	}

	// Through Nomad: the job vigil compiles logs in with its own
	// workload identity, gets its own database user and writes a backup.
	defer purgeVigilJobs(t)
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	alloc, err := stack.Nomad.ForceRun(ctx, "vigil-pg-orders", 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if alloc.ClientStatus != "complete" {
		t.Fatalf("the forced job: %s\n%s", alloc.ClientStatus, stack.Nomad.Explain(alloc))
	}
	if last := lastRecord(t, "pg-orders"); last.Status != record.Succeeded || last.AllocID != alloc.ID {
		t.Fatalf("the forced job's record: %+v", last)
	}
	if n, _ := src.SQL(ctx, `SELECT count(*) FROM pg_roles WHERE rolname LIKE 'v-%'`); n != "0" {
		t.Errorf("database users left after the forced job: %s", n)
	}

	// The drill passes; with a wrong expectation it fails, naming it.
	if r := vigil(t, "", "verify", "-config", dir, "-backup", "pg-orders", "-latest"); r.code != 0 {
		t.Fatalf("drill: %s", r)
	}
	if last := lastVerify(t, "pg-orders"); last == nil || last.Status != record.Succeeded || len(last.Verify.Checks) != 2 {
		t.Fatalf("drill record: %+v", last)
	}
	// The drill job vigil compiles, forced: it starts its scratch server
	// inside the allocation, as the postgres user.
	alloc, err = stack.Nomad.ForceRun(ctx, "vigil-verify-pg-orders", 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if alloc.ClientStatus != "complete" {
		t.Fatalf("the forced drill job: %s\n%s", alloc.ClientStatus, stack.Nomad.Explain(alloc))
	}
	if last := lastVerify(t, "pg-orders"); last == nil || last.Status != record.Succeeded || last.AllocID != alloc.ID {
		t.Fatalf("the forced drill's record: %+v", last)
	}
	// The drill job's own identity may not get a database user: it never
	// touches the database backed up.
	drillTok, err := stack.JobTokens(ctx, stack.Consul, tokensFor([]string{dir}), "vigil-"+configID(t)+"-drill-pg-orders")
	if err != nil {
		t.Fatal(err)
	}
	dc, _ := stack.Vault.Client(drillTok.Vault)
	if _, err := dc.Logical().ReadWithContext(ctx, mount+"/creds/orders-backup"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the drill's token read a database user: %v", err)
	}
	writeSpec(t, dir, strings.Replace(readSpec(t, dir), wantOrders, "0000", 1))
	if r := vigil(t, "", "verify", "-config", dir, "-backup", "pg-orders", "-latest"); r.code != 1 || !strings.Contains(r.stderr, "orders checksum") {
		t.Errorf("a drill whose answer differs: %s", r)
	}

	for _, c := range []struct{ name, want string }{
		{"pg-exit1", `"sh" exited with status 1`},
		{"pg-killed", "was killed by signal killed"},
		{"pg-hangs", "did not finish within its timeout (2s) and was killed"},
		{"pg-refused", "is not permitted to log in"},
	} {
		r := vigil(t, "", "run", "-config", dir, "-backup", c.name)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: want exit 1 naming %q: %s", c.name, c.want, r)
		}
		if ms := manifests(t, ctx, prefix, c.name); len(ms) != 0 {
			t.Errorf("%s: a failed dump got a manifest: %v", c.name, ms)
		}
		if last := lastRecord(t, c.name); last.Status != record.Failed {
			t.Errorf("%s: record %+v", c.name, last)
		}
		if strings.Contains(r.stdout+r.stderr, string(password)) {
			t.Errorf("%s: the output holds a database password", c.name)
		}
	}
	if r := vigil(t, "", "run", "-config", dir, "-backup", "pg-orders"); r.code != 0 {
		t.Fatalf("the next good run: %s", r)
	} else if strings.Contains(r.stdout+r.stderr, string(password)) {
		t.Error("the run's output holds the database password")
	}
	if n, _ := src.SQL(ctx, `SELECT count(*) FROM pg_roles WHERE rolname LIKE 'v-%'`); n != "0" {
		t.Errorf("database users left after the failed runs: %s", n)
	}
	cc, _ := stack.Consul.Client()
	for _, prefix := range []string{record.KVPrefix + "pg-", record.HistoryPrefix + "pg-"} {
		pairs, _, err := cc.KV().List(prefix, nil)
		if err != nil || len(pairs) == 0 {
			t.Fatalf("records under %s: %d, %v", prefix, len(pairs), err)
		}
		for _, p := range pairs {
			if strings.Contains(string(p.Value), string(password)) {
				t.Errorf("record %s holds the database password", p.Key)
			}
		}
	}
}

// postgresEngine is Vault's database engine for src, with two roles:
// orders-backup (a read-only user per lease) and no-login (users that may
// not log in).
func postgresEngine(t *testing.T, ctx context.Context, src *harness.Postgres) string {
	return databaseEngine(t, ctx, "pg", map[string]any{"plugin_name": "postgresql-database-plugin",
		"connection_url": src.URL(), "username": "postgres", "password": src.Password}, map[string][]string{
		"orders-backup": {`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT pg_read_all_data TO "{{name}}";`},
		"no-login":      {`CREATE ROLE "{{name}}" WITH NOLOGIN PASSWORD '{{password}}';`},
	})
}

// databaseEngine mounts Vault's database engine for the test at
// db-<config id>-<suffix>, with one connection (conn: the plugin's settings,
// allowed every role) and roles (name: creation statements, users per
// lease, dropped at revocation). It returns the mount.
func databaseEngine(t *testing.T, ctx context.Context, suffix string, conn map[string]any, roles map[string][]string) string {
	t.Helper()
	mount := "db-" + configID(t) + "-" + suffix
	vc, _ := stack.Vault.Root()
	if err := vc.Sys().MountWithContext(ctx, mount, &vault.MountInput{Type: "database"}); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(roles))
	for name := range roles {
		names = append(names, name)
	}
	conn["allowed_roles"] = strings.Join(names, ",")
	conn["verify_connection"] = true
	if _, err := vc.Logical().WriteWithContext(ctx, mount+"/config/store", conn); err != nil {
		t.Fatalf("vault write %s/config/store: %v", mount, err)
	}
	for name, stmts := range roles {
		if _, err := vc.Logical().WriteWithContext(ctx, mount+"/roles/"+name, map[string]any{"db_name": "store",
			"default_ttl": "1h", "max_ttl": "24h", "creation_statements": stmts}); err != nil {
			t.Fatalf("vault write %s/roles/%s: %v", mount, name, err)
		}
	}
	return mount
}
