job "vigil-serve-platform" {
  type        = "service"
  datacenters = ["dc1"]
  node_pool   = "default"
  priority    = 60

  meta {
    vigil_config    = "platform"
    vigil_managed   = "true"
    vigil_role      = "serve"
    vigil_spec_hash = "cc36a8c7cc7fd28b7670f886ffd515ec02bcad9b395b78e77c400d804f205a30"
    vigil_version   = "0.1.0-dev"
  }

  constraint {
    attribute = "$${attr.kernel.name}"
    value     = "linux"
  }

  group "serve" {
    count = 1

    network {
      port "http" {
      }
    }

    restart {
      attempts = 3
      interval = "30m0s"
      delay    = "15s"
      mode     = "delay"
    }

    task "vigil" {
      driver       = "exec"
      kill_timeout = "30s"

      config {
        args    = ["serve", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-addr", "$${NOMAD_ADDR_http}"]
        command = "$${NOMAD_TASK_DIR}/vigil"
      }

      env {
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
      "type": "consul_snapshot",
      "name": "consul-prod",
      "schedule": "17 * * * *",
      "time_zone": "UTC",
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
        "last": 24,
        "daily": 7,
        "weekly": 4,
        "monthly": 6
      },
      "lock": {
        "key": "vigil/locks/consul-prod",
        "ttl": 30000000000,
        "wait": 0
      },
      "timeout": 1200000000000,
      "compression": "zstd",
      "encryption": {
        "mount": "transit",
        "key": "vigil-backups"
      },
      "consul": {
        "address": "https://consul.service.consul:8501",
        "datacenter": "dc1",
        "stale": true,
        "tls": {
          "ca_file": "/etc/vigil/tls/ca.pem"
        },
        "credentials": {
          "source": "vault_consul_path",
          "vault_path": "consul/creds/vigil-platform-snapshot"
        }
      },
      "verify": {
        "schedule": "30 4 * * *",
        "max_duration": 1800000000000,
        "max_age": 129600000000000,
        "min_keys": 1,
        "scratch": {},
        "keys": [
          {
            "key": "service/web/config"
          }
        ]
      },
      "nomad": {}
    },
    {
      "type": "consul_kv",
      "name": "consul-kv-services",
      "schedule": "*/15 * * * *",
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
        "last": 96,
        "max_age": 2592000000000000
      },
      "lock": {
        "key": "vigil/locks/consul-kv-services",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "encryption": {
        "mount": "transit",
        "key": "vigil-backups"
      },
      "consul": {
        "address": "https://consul.service.consul:8501",
        "prefix": "service/",
        "tls": {
          "ca_file": "/etc/vigil/tls/ca.pem"
        },
        "credentials": {
          "source": "vault_consul_path",
          "vault_path": "consul/creds/vigil-platform-kv"
        }
      },
      "verify": {
        "after_backup": true,
        "max_duration": 1800000000000,
        "scratch": {},
        "prefixes": [
          {
            "prefix": "service/",
            "min_keys": 1
          }
        ]
      },
      "nomad": {}
    },
    {
      "type": "elasticsearch",
      "name": "logs",
      "schedule": "0 2 * * *",
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
        "last": 14
      },
      "lock": {
        "key": "vigil/locks/logs",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 7200000000000,
      "compression": "none",
      "encryption": {
        "mount": "transit",
        "key": "vigil-backups"
      },
      "elasticsearch": {
        "url": "https://elasticsearch.service.consul:9200",
        "repository": "s3-logs",
        "repository_settings": {
          "type": "s3",
          "bucket": "platform-es-snapshots",
          "base_path": "logs",
          "client": "default"
        },
        "indices": [
          "logs-*"
        ],
        "snapshot_prefix": "vigil-logs",
        "credentials": {
          "source": "vault_kv_path",
          "vault_path": "secret/data/vigil/elasticsearch"
        }
      },
      "verify": {
        "schedule": "0 6 * * *",
        "max_duration": 1800000000000,
        "indices": [
          {
            "pattern": "logs-*",
            "min_docs": 1
          }
        ]
      },
      "nomad": {}
    },
    {
      "type": "etcd",
      "name": "etcd-main",
      "schedule": "0 */6 * * *",
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
        "last": 8,
        "daily": 14
      },
      "lock": {
        "key": "vigil/locks/etcd-main",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 2700000000000,
      "compression": "zstd",
      "encryption": {
        "mount": "transit",
        "key": "vigil-backups"
      },
      "etcd": {
        "endpoints": [
          "https://etcd-0.internal:2379",
          "https://etcd-1.internal:2379",
          "https://etcd-2.internal:2379"
        ],
        "dial_timeout": 5000000000,
        "tls": {
          "ca_file": "/etc/etcd/pki/ca.pem"
        },
        "credentials": {
          "source": "vault_pki_path",
          "vault_path": "pki/issue/vigil-platform",
          "common_name": "vigil"
        }
      },
      "verify": {
        "schedule": "0 5 * * 0",
        "max_duration": 1800000000000,
        "min_keys": 1,
        "scratch": {}
      },
      "nomad": {}
    },
    {
      "type": "nomad_snapshot",
      "name": "nomad-prod",
      "schedule": "23 */4 * * *",
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
        "last": 12,
        "daily": 14
      },
      "lock": {
        "key": "vigil/locks/nomad-prod",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 1200000000000,
      "compression": "zstd",
      "encryption": {
        "mount": "transit",
        "key": "vigil-backups"
      },
      "nomad_cluster": {
        "address": "https://nomad.service.consul:4646",
        "tls": {
          "ca_file": "/etc/vigil/tls/ca.pem",
          "cert_file": "/etc/vigil/tls/nomad-client.pem",
          "key_file": "/etc/vigil/tls/nomad-client-key.pem"
        },
        "credentials": {
          "source": "vault_nomad_path",
          "vault_path": "nomad/creds/vigil-platform"
        }
      },
      "verify": {
        "schedule": "45 4 * * *",
        "max_duration": 1800000000000,
        "scratch": {},
        "min_jobs": 1,
        "jobs": [
          {
            "name": "vigil-nomad-prod"
          }
        ]
      },
      "nomad": {}
    },
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
    },
    {
      "type": "vault_raft",
      "name": "vault-prod",
      "schedule": "41 */4 * * *",
      "storage": {
        "kind": "s3",
        "name": "vault-snapshots",
        "bucket": "platform-backups",
        "prefix": "vigil-vault/",
        "region": "eu-central-1",
        "endpoint": "https://s3.eu-central-1.amazonaws.com",
        "path_style": true,
        "sse": "AES256",
        "credentials": {
          "source": "vault_identity_sts",
          "identity_role": "s3-backup"
        }
      },
      "retain": {
        "last": 12,
        "daily": 14
      },
      "lock": {
        "key": "vigil/locks/vault-prod",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 1200000000000,
      "compression": "zstd",
      "vault_cluster": {
        "address": "https://vault.service.consul:8200",
        "tls": {
          "ca_file": "/etc/vigil/tls/ca.pem"
        }
      },
      "verify": {
        "schedule": "50 4 * * *",
        "max_duration": 1800000000000,
        "scratch": {},
        "vault": {
          "unseal_keys_file": "/etc/vigil/secrets/vault-unseal.json",
          "mounts": [
            "secret/"
          ],
          "secrets": [
            "secret/data/canary"
          ]
        }
      },
      "nomad": {}
    }
  ],
  "telemetry": {},
  "serve": {
    "count": 1,
    "node": "vigil"
  }
}
EOT
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
