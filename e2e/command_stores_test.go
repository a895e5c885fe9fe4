//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/record"
)

// commandStore is one data store a command backup is proven on through
// Nomad: the spec of its backup (drill included), how many users Vault
// left in it, and how a restore is done and asked.
type commandStore struct {
	name string
	spec string
	// asserts is how many assert blocks the drill has.
	asserts int
	// vaultUsers counts the users Vault's engine made that still exist.
	vaultUsers func(ctx context.Context) (int, error)
	// restoreTo is vigil restore's -to; restored answers the check query
	// on what the restore wrote, to be compared with want.
	restoreTo  string
	restoreEnv []string
	restored   func(ctx context.Context) (string, error)
	want       string
}

// proveCommandStore applies the spec, forces the backup job (its own
// database user from Vault, gone after the run) and the drill job (a
// scratch server of the drill's own, every assertion passed), then
// restores the backup with vigil restore and asks the restored copy.
func proveCommandStore(t *testing.T, ctx context.Context, s commandStore) {
	t.Helper()
	dir, prefix := specDir(t, s.spec)
	defer purgeVigilJobs(t)
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	alloc, err := stack.Nomad.ForceRun(ctx, "vigil-"+s.name, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if alloc.ClientStatus != "complete" {
		t.Fatalf("the forced backup job: %s\n%s", alloc.ClientStatus, stack.Nomad.Explain(alloc))
	}
	m, _ := latestManifest(t, ctx, prefix, s.name)
	if last := lastRecord(t, s.name); last.Status != record.Succeeded || last.AllocID != alloc.ID || last.Object != m.Object {
		t.Fatalf("the forced job's record %+v, manifest %+v", last, m)
	}
	if n, err := s.vaultUsers(ctx); err != nil || n != 0 {
		t.Errorf("database users left after the run: %d %v", n, err)
	}

	alloc, err = stack.Nomad.ForceRun(ctx, "vigil-verify-"+s.name, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if alloc.ClientStatus != "complete" {
		t.Fatalf("the forced drill job: %s\n%s", alloc.ClientStatus, stack.Nomad.Explain(alloc))
	}
	last := lastVerify(t, s.name)
	if last == nil || last.Status != record.Succeeded || last.AllocID != alloc.ID || len(last.Verify.Checks) != s.asserts {
		t.Fatalf("the forced drill's record: %+v", last)
	}
	for _, c := range last.Verify.Checks {
		if !c.Passed {
			t.Errorf("drill check %s: %s", c.Name, c.Detail)
		}
	}

	env := append(envFor("", []string{dir}), s.restoreEnv...)
	if r := vigilEnv(t, env, "restore", "-config", dir, "-backup", s.name, "-latest", "-to", s.restoreTo); r.code != 0 {
		t.Fatalf("restore: %s", r)
	}
	if got, err := s.restored(ctx); err != nil || got != s.want {
		t.Fatalf("the restored copy answers %q (%v), want %q", got, err, s.want)
	}
}

// TestCommandBackupOfMariaDB: a MariaDB database with 100k rows in three
// tables, dumped by mariadb-dump --single-transaction as a user Vault's
// database engine makes for the run (its name after --user, its password
// in MYSQL_PWD), drilled in a scratch MariaDB, and restored with vigil
// restore into a second server that answers the same queries.
func TestCommandBackupOfMariaDB(t *testing.T) {
	needStack(t)
	if stack.Sec == nil {
		t.Skip("the open lab has no Vault database engine")
	}
	ctx := testContext(t, 5*time.Minute)
	src, err := harness.StartMariaDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Stop()
	dst, err := harness.StartMariaDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Stop()
	if _, err := src.SQL(ctx, `CREATE DATABASE shop; USE shop;
CREATE TABLE orders (id INT PRIMARY KEY, note CHAR(32)) AS SELECT seq AS id, md5(seq) AS note FROM seq_1_to_60000;
CREATE TABLE items (id INT PRIMARY KEY, order_id INT) AS SELECT seq AS id, seq % 977 AS order_id FROM seq_1_to_30000;
CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20)) AS SELECT seq AS id, concat('user-', seq) AS name FROM seq_1_to_10000;`); err != nil {
		t.Fatal(err)
	}
	const rows = `SELECT (SELECT count(*) FROM shop.orders) + (SELECT count(*) FROM shop.items) + (SELECT count(*) FROM shop.users)`
	const sum = `SELECT sum(crc32(concat(id, note))) FROM shop.orders`
	check := fmt.Sprintf(`SELECT concat_ws('/', (%s), (%s))`, rows, sum)
	want, err := src.SQL(ctx, check)
	if err != nil {
		t.Fatal(err)
	}
	wantSum, _ := src.SQL(ctx, sum)
	mount := databaseEngine(t, ctx, "mariadb", map[string]any{"plugin_name": "mysql-database-plugin",
		"connection_url": src.URL(), "username": "root", "password": src.Password}, map[string][]string{
		"shop-backup": {`CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT ON *.* TO '{{name}}'@'%';`},
	})
	spec := fmt.Sprintf(`
backup "command" "shop-db" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  command {
    dump    = ["mariadb-dump", "--host=127.0.0.1", "--port=%[1]d", "--single-transaction", "--databases", "shop"]
    restore = ["mariadb"]
    credentials {
      vault_database = "%[2]s/creds/shop-backup"
      username_arg   = "--user"
      password_env   = "MYSQL_PWD"
    }
  }
  verify {
    schedule = "0 4 * * *"
    scratch {
      init  = ["mariadb-install-db", "--user=root", "--datadir={{ .Dir }}/data", "--auth-root-authentication-method=normal", "--skip-test-db"]
      start = ["/usr/sbin/mariadbd", "--no-defaults", "--user=root", "--datadir={{ .Dir }}/data", "--socket={{ .Dir }}/sock", "--port={{ .Port }}", "--bind-address=127.0.0.1", "--skip-log-bin", "--skip-grant-tables", "--innodb-buffer-pool-size=64M"]
      ready = ["mariadb-admin", "--host=127.0.0.1", "--port={{ .Port }}", "ping"]
      env   = { MYSQL_HOST = "127.0.0.1", MYSQL_TCP_PORT = "{{ .Port }}" }
    }
    assert "rows" {
      command = ["mariadb", "-N", "-B", "-e", %[3]q]
      min     = 100000
    }
    assert "orders checksum" {
      command = ["mariadb", "-N", "-B", "-e", %[4]q]
      expect  = %[5]q
    }
  }
}`, src.Port, mount, rows, sum, wantSum)
	proveCommandStore(t, ctx, commandStore{
		name: "shop-db", spec: spec, asserts: 2,
		vaultUsers: func(ctx context.Context) (int, error) {
			n, err := src.SQL(ctx, `SELECT count(*) FROM mysql.user WHERE User LIKE 'v-%'`)
			if err != nil {
				return -1, err
			}
			var i int
			_, err = fmt.Sscan(n, &i)
			return i, err
		},
		// The mariadb client reads its address from these variables, and
		// the operator's own password from the environment.
		restoreTo:  fmt.Sprintf("MYSQL_HOST=127.0.0.1,MYSQL_TCP_PORT=%d", dst.Port),
		restoreEnv: []string{"MYSQL_PWD=" + dst.Password},
		restored:   func(ctx context.Context) (string, error) { return dst.SQL(ctx, check) },
		want:       want,
	})
}

// TestCommandBackupOfRedis: a Redis with 100k keys (and a hash and a
// list), dumped by redis-cli --rdb - as an ACL user Vault's database
// engine makes for the run (--user NAME, REDISCLI_AUTH), drilled by
// starting a scratch server on the restored RDB (restore_first), and
// restored with vigil restore to an RDB file a second server starts on.
func TestCommandBackupOfRedis(t *testing.T) {
	needStack(t)
	if stack.Sec == nil {
		t.Skip("the open lab has no Vault database engine")
	}
	ctx := testContext(t, 5*time.Minute)
	src, err := harness.StartRedis(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Stop()
	if _, err := src.Cmd(ctx, "EVAL", `for i = 1, 100000 do redis.call('SET', 'key:' .. i, i * 7) end
for i = 1, 1000 do redis.call('HSET', 'orders', 'o' .. i, i) end
for i = 1, 500 do redis.call('RPUSH', 'queue', 'job-' .. i) end
return 1`, "0"); err != nil {
		t.Fatal(err)
	}
	const sum = `local s = 0 for i = 1, 100000 do s = s + tonumber(redis.call('GET', 'key:' .. i)) end return s + redis.call('HLEN', 'orders') + redis.call('LLEN', 'queue')`
	want, err := src.Cmd(ctx, "EVAL", sum, "0")
	if err != nil {
		t.Fatal(err)
	}
	mount := databaseEngine(t, ctx, "redis", map[string]any{"plugin_name": "redis-database-plugin",
		"host": "127.0.0.1", "port": src.Port, "username": "default", "password": src.Password}, map[string][]string{
		// What redis-cli --rdb needs: a replica's SYNC, nothing written.
		"cache-backup": {`["~*", "+@read", "+sync", "+replconf", "+ping"]`},
	})
	spec := fmt.Sprintf(`
backup "command" "cache" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  command {
    dump    = ["redis-cli", "-h", "127.0.0.1", "-p", "%[1]d", "--rdb", "-"]
    restore = ["sh", "-c", "cat > \"$REDIS_RDB\""]
    credentials {
      vault_database = "%[2]s/creds/cache-backup"
      username_arg   = "--user"
      password_env   = "REDISCLI_AUTH"
    }
  }
  verify {
    schedule = "0 4 * * *"
    scratch {
      restore_first = true
      start = ["redis-server", "--port", "{{ .Port }}", "--bind", "127.0.0.1", "--dir", "{{ .Dir }}", "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"]
      ready = ["sh", "-c", "redis-cli -p {{ .Port }} ping | grep -qx PONG"]
      env   = { REDIS_RDB = "{{ .Dir }}/dump.rdb" }
    }
    assert "keys" {
      command = ["redis-cli", "-p", "{{ .Port }}", "dbsize"]
      min     = 100002
    }
    assert "values" {
      command = ["redis-cli", "-p", "{{ .Port }}", "eval", %[3]q, "0"]
      expect  = %[4]q
    }
  }
}`, src.Port, mount, sum, want)
	restoreDir := t.TempDir()
	var dst *harness.Redis
	defer func() {
		if dst != nil {
			dst.Stop()
		}
	}()
	proveCommandStore(t, ctx, commandStore{
		name: "cache", spec: spec, asserts: 2,
		vaultUsers: func(ctx context.Context) (int, error) {
			out, err := src.Cmd(ctx, "ACL", "USERS")
			return len(strings.Fields(out)) - 1, err // default stays
		},
		restoreTo: "REDIS_RDB=" + filepath.Join(restoreDir, "dump.rdb"),
		restored: func(ctx context.Context) (string, error) {
			if dst, err = harness.StartRedis(ctx, restoreDir); err != nil {
				return "", err
			}
			return dst.Cmd(ctx, "EVAL", sum, "0")
		},
		want: want,
	})

	// A user Vault's engine does not manage: a static ACL user whose
	// password sits in Vault KV, handed over the same way; with a wrong
	// password in KV the dump's login fails the run, saying why.
	password := "static-" + configID(t)
	if _, err := src.Cmd(ctx, "ACL", "SETUSER", "vigil-static", "on", ">"+password, "~*", "+@read", "+sync", "+replconf", "+ping"); err != nil {
		t.Fatal(err)
	}
	kv := "secret/data/vigil/redis-" + configID(t)
	root, _ := stack.Vault.Root()
	putKV := func(pw string) {
		if _, err := root.Logical().WriteWithContext(ctx, kv, map[string]any{"data": map[string]any{"username": "vigil-static", "password": pw}}); err != nil {
			t.Fatal(err)
		}
	}
	putKV(password)
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "command" "cache-kv" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  command {
    dump = ["redis-cli", "-h", "127.0.0.1", "-p", "%d", "--rdb", "-"]
    credentials {
      vault_kv_path = %q
      username_arg  = "--user"
      password_env  = "REDISCLI_AUTH"
    }
  }
}`, src.Port, kv))
	if r := vigil(t, "", "run", "-config", dir, "-backup", "cache-kv"); r.code != 0 {
		t.Fatalf("a run with the user from KV: %s", r)
	}
	if last := lastRecord(t, "cache-kv"); last.Status != record.Succeeded {
		t.Errorf("record %+v", last)
	}
	putKV("wrong-" + password)
	r := vigil(t, "", "run", "-config", dir, "-backup", "cache-kv")
	if r.code != 1 || !strings.Contains(r.stderr, `"redis-cli" exited with status 1`) || !strings.Contains(r.stderr, "WRONGPASS") {
		t.Errorf("a run whose KV password is wrong: %s", r)
	}
	if ms := manifests(t, ctx, prefix, "cache-kv"); len(ms) != 1 {
		t.Errorf("manifests after one good and one refused run: %v", ms)
	}
	if strings.Contains(r.stdout+r.stderr, password) {
		t.Error("the output holds the KV password")
	}
}
