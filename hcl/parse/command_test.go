package parse

import (
	"strings"
	"testing"

	"github.com/vigil-backup/vigil/hcl/config"
)

// A postgres preset fills the argv and the user's variables so the traps
// are avoided (pg_restore reads only the custom format, and prints SQL
// without --dbname; pg_dump's zlib under vigil's zstd compresses twice);
// what the block gives wins.
func TestCommandPreset(t *testing.T) {
	cfg, _, diags := LoadBytes("spec.hcl", []byte(teachHead+`
backup "command" "orders" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  command {
    preset = "postgres"
    env    = { PGHOST = "db", PGDATABASE = "orders" }
    credentials {
      vault_database = "database/creds/orders-backup"
    }
  }
}
`), Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	c := cfg.Backups[0].Command
	if strings.Join(c.Dump, " ") != "pg_dump --format=custom --no-owner --compress=0" ||
		strings.Join(c.Restore, " ") != "pg_restore --no-owner --clean --if-exists --dbname=orders" ||
		c.Creds.Source != config.CredVaultDatabase || c.Creds.UsernameEnv != "PGUSER" || c.Creds.PasswordEnv != "PGPASSWORD" {
		t.Errorf("preset: %+v %+v", c, c.Creds)
	}
	// With the pipeline's compression off, pg_dump compresses.
	cfg, _, diags = LoadBytes("spec.hcl", []byte(teachHead+`
backup "command" "orders" {
  schedule    = "0 * * * *"
  storage     = storage.local.disk
  compression = "none"
  command {
    preset = "postgres"
  }
}
`), Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if d := strings.Join(cfg.Backups[0].Command.Dump, " "); d != "pg_dump --format=custom --no-owner" {
		t.Errorf("preset without the pipeline's compression: %s", d)
	}
}

// A store Vault's database engine cannot manage takes its user from KV,
// through the same variables; mariadb-dump and redis-cli read the user
// from an option, not a variable.
func TestCommandCredentialsFromKV(t *testing.T) {
	cfg, _, diags := LoadBytes("spec.hcl", []byte(teachHead+`
backup "command" "cache" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  command {
    dump = ["redis-cli", "--rdb", "-"]
    credentials {
      vault_kv_path = "secret/vigil/redis"
      username_arg  = "--user"
      password_env  = "REDISCLI_AUTH"
    }
  }
}
`), Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	cr := cfg.Backups[0].Command.Creds
	if cr.Source != config.CredVaultKV || cr.VaultPath != "secret/data/vigil/redis" || cr.UsernameArg != "--user" || !cr.ForCommand() {
		t.Errorf("credentials: %+v", cr)
	}
}

// Each mistake in a command block is an error at its place, saying how
// to fix it.
func TestCommandErrors(t *testing.T) {
	for _, c := range []struct {
		name, block, want string
		line              int
	}{
		{"no dump", `command {
    restore = ["pg_restore"]
  }`, `The argument "dump" is required`, 7},
		{"secret in env", `command {
    dump = ["pg_dump"]
    env  = { PGHOST = "db", PGPASSWORD = "hunter2" }
  }`, "PGPASSWORD looks like a secret", 9},
		{"no user variables", `command {
    dump = ["pg_dump"]
    credentials {
      vault_database = "database/creds/x"
    }
  }`, "set username_env", 9},
		{"no password variable", `command {
    dump = ["mariadb-dump"]
    credentials {
      vault_database = "database/creds/x"
      username_arg   = "--user"
    }
  }`, "set password_env", 9},
		{"username_arg not an option", `command {
    dump = ["redis-cli"]
    credentials {
      vault_database = "database/creds/x"
      username_arg   = "user"
      password_env   = "REDISCLI_AUTH"
    }
  }`, `"user" is not an option`, 11},
		{"a source commands do not take", `command {
    dump = ["pg_dump"]
    credentials {
      vault_consul_path = "consul/creds/x"
    }
  }`, "from vault_database or vault_kv_path", 10},
		{"unknown preset", `command {
    preset = "oracle"
  }`, `"oracle" is not one of "postgres"`, 8},
		{"empty argv", `command {
    dump = []
  }`, "dump must name a program", 8},
		{"drill without a server", `command {
    dump = ["pg_dump"]
  }
  verify {
    min_keys = 1
  }`, "Missing scratch server", 10},
		{"two expectations", `command {
    dump = ["pg_dump"]
  }
  verify {
    scratch {
      start = ["postgres"]
      ready = ["pg_isready"]
    }
    assert "rows" {
      command = ["psql"]
      expect  = "1"
      min     = 1
    }
  }`, "One expectation per assert", 15},
	} {
		// Lines count from the spec's top, teachHead's three included.
		d := firstError(t, `backup "command" "orders" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  `+c.block+`
}
`)
		if !strings.Contains(d.Summary+": "+d.Detail, c.want) || d.Subject.Start.Line != c.line {
			t.Errorf("%s: want %q at line %d, got line %d: %s: %s", c.name, c.want, c.line, d.Subject.Start.Line, d.Summary, d.Detail)
		}
	}
}
