variable "orders_pg_host" {
  type        = string
  default     = "orders-db.service.consul"
  description = "The PostgreSQL the orders backup dumps (a database the team runs on Nomad)."
}

variable "pg_bin" {
  type        = string
  default     = "/usr/lib/postgresql/15/bin"
  description = "Where the drill's node has PostgreSQL's server binaries (Debian's postgresql)."
}

# Any data store a dump command can read: here a PostgreSQL database. The
# dump's stdout is the backup, streamed like every other (sha256, zstd,
# encryption, manifest last); its exit status decides, so a pg_dump that
# fails halfway never becomes a backup.
backup "command" "orders-db" {
  schedule = "5 * * * *"
  storage  = storage.s3.primary
  timeout  = "1h"

  command {
    # preset = "postgres" would fill dump, restore and the user's variables.
    dump    = ["pg_dump", "--format=custom", "--no-owner"]
    restore = ["pg_restore", "--no-owner", "--dbname=postgres"]
    # Plain settings only: a name that looks like a secret is refused here.
    env     = { PGHOST = var.orders_pg_host, PGPORT = "5432", PGDATABASE = "orders" }
    timeout = "45m"

    # A fresh database user for each run from Vault's database engine,
    # handed over in the variables pg_dump reads and dropped at the run's
    # end. `vigil setup` writes the policy and says which role to create.
    credentials {
      vault_database = "database/creds/orders-backup"
      username_env   = "PGUSER"
      password_env   = "PGPASSWORD"
    }
  }

  retain {
    last  = 48
    daily = 14
  }

  # The drill restores the newest backup into a throwaway PostgreSQL of its
  # own ({{ .Dir }} is its empty folder, {{ .Port }} a free port) and asks it.
  verify {
    schedule     = "40 4 * * *"
    max_duration = "1h"
    max_age      = "36h"
    scratch {
      init  = ["${var.pg_bin}/initdb", "-D", "{{ .Dir }}/data", "-U", "postgres", "-A", "trust"]
      start = ["${var.pg_bin}/postgres", "-D", "{{ .Dir }}/data", "-p", "{{ .Port }}", "-k", "{{ .Dir }}", "-c", "listen_addresses=127.0.0.1"]
      ready = ["pg_isready", "-h", "127.0.0.1", "-p", "{{ .Port }}"]
      env   = { PGHOST = "127.0.0.1", PGPORT = "{{ .Port }}", PGUSER = "postgres", PGDATABASE = "postgres" }
      user  = "postgres" # PostgreSQL refuses to run as root
    }
    assert "orders" {
      command = ["psql", "-At", "-c", "SELECT count(*) FROM orders"]
      min     = 1
    }
  }
}
