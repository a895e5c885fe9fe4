job "vigil-orders-db" {
  type        = "batch"
  datacenters = ["dc1"]
  node_pool   = "default"
  priority    = 60

  meta {
    vigil_backup    = "orders-db"
    vigil_config    = "platform"
    vigil_managed   = "true"
    vigil_role      = "backup"
    vigil_spec_hash = "a0868379425f548c78a9eeb2f640a9305fe0cffd5886cd539c4406d6169675ca"
    vigil_type      = "command"
    vigil_version   = "0.1.0-dev"
  }

  constraint {
    attribute = "$${attr.kernel.name}"
    value     = "linux"
  }

  periodic {
    crons            = ["5 * * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "backup" {
    count = 1

    restart {
      attempts = 1
      interval = "2h0m0s"
      delay    = "30s"
      mode     = "fail"
    }

    reschedule {
      attempts       = 1
      interval       = "2h0m0s"
      delay          = "1m0s"
      delay_function = "constant"
      unlimited      = false
    }

    task "vigil" {
      driver       = "exec"
      kill_timeout = "30s"

      config {
        args    = ["run", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "orders-db"]
        command = "$${NOMAD_TASK_DIR}/vigil"
      }

      env {
        VAULT_ADDR = "https://vault.service.consul:8200"
        VIGIL_NODE = "$${node.unique.name}"
      }

      artifact {
        source      = "https://releases.example.com/vigil/v0.1.0/vigil_0.1.0_linux_amd64.tar.gz"
        destination = "local/"
      }

      template {
        destination     = "local/vigil.json"
        change_mode     = "noop"
        left_delimiter  = "[[vigil:"
        right_delimiter = ":vigil]]"
        data            = <<EOT
{
  "id": "platform",
  "consul": {
    "enabled": true,
    "address": "https://127.0.0.1:8501",
    "datacenter": "dc1",
    "tls": {
      "ca_file": "/etc/vigil/tls/ca.pem"
    }
  },
  "vault": {
    "address": "https://vault.service.consul:8200",
    "tls": {
      "ca_file": "/etc/vigil/tls/ca.pem"
    }
  },
  "nomad": {},
  "backups": [
    {
      "type": "command",
      "name": "orders-db",
      "schedule": "5 * * * *",
      "storage": {
        "kind": "s3",
        "name": "primary",
        "bucket": "platform-backups",
        "prefix": "vigil/",
        "region": "eu-central-1",
        "endpoint": "https://s3.eu-central-1.amazonaws.com",
        "path_style": true,
        "sse": "AES256",
        "credentials": {
          "source": "vault_identity_sts",
          "identity_role": "s3-backup"
        },
        "encryption": {
          "mount": "transit",
          "key": "vigil-backups"
        }
      },
      "retain": {
        "last": 48,
        "daily": 14
      },
      "lock": {
        "key": "vigil/locks/orders-db",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "encryption": {
        "mount": "transit",
        "key": "vigil-backups"
      },
      "command": {
        "dump": [
          "pg_dump",
          "--format=custom",
          "--no-owner"
        ],
        "restore": [
          "pg_restore",
          "--no-owner",
          "--dbname=postgres"
        ],
        "env": {
          "PGDATABASE": "orders",
          "PGHOST": "orders-db.service.consul",
          "PGPORT": "5432"
        },
        "timeout": 2700000000000,
        "credentials": {
          "source": "vault_database",
          "vault_path": "database/creds/orders-backup",
          "username_env": "PGUSER",
          "password_env": "PGPASSWORD"
        }
      },
      "verify": {
        "schedule": "40 4 * * *",
        "max_duration": 3600000000000,
        "max_age": 129600000000000,
        "scratch": {
          "server": {
            "init": [
              "/usr/lib/postgresql/15/bin/initdb",
              "-D",
              "{{ .Dir }}/data",
              "-U",
              "postgres",
              "-A",
              "trust"
            ],
            "start": [
              "/usr/lib/postgresql/15/bin/postgres",
              "-D",
              "{{ .Dir }}/data",
              "-p",
              "{{ .Port }}",
              "-k",
              "{{ .Dir }}",
              "-c",
              "listen_addresses=127.0.0.1"
            ],
            "ready": [
              "pg_isready",
              "-h",
              "127.0.0.1",
              "-p",
              "{{ .Port }}"
            ],
            "env": {
              "PGDATABASE": "postgres",
              "PGHOST": "127.0.0.1",
              "PGPORT": "{{ .Port }}",
              "PGUSER": "postgres"
            },
            "user": "postgres"
          }
        },
        "asserts": [
          {
            "name": "orders",
            "command": [
              "psql",
              "-At",
              "-c",
              "SELECT count(*) FROM orders"
            ],
            "min": 1
          }
        ]
      },
      "nomad": {}
    }
  ],
  "telemetry": {},
  "serve": {}
}
EOT
      }

      vault {
        role        = "vigil-platform-backup-orders-db"
        change_mode = "noop"
      }

      consul {
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
