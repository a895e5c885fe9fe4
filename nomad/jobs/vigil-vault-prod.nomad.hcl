job "vigil-vault-prod" {
  type        = "batch"
  datacenters = ["dc1"]
  node_pool   = "default"
  priority    = 60

  meta {
    vigil_backup    = "vault-prod"
    vigil_config    = "platform"
    vigil_managed   = "true"
    vigil_role      = "backup"
    vigil_spec_hash = "bb36a20e12e34ec338af9aa846a3f83f1c3620a5d3dcb8e56160a3281ef5a1fb"
    vigil_type      = "vault_raft"
    vigil_version   = "0.1.0-dev"
  }

  constraint {
    attribute = "$${attr.kernel.name}"
    value     = "linux"
  }

  periodic {
    crons            = ["41 */4 * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "backup" {
    count = 1

    restart {
      attempts = 1
      interval = "1h20m0s"
      delay    = "30s"
      mode     = "fail"
    }

    reschedule {
      attempts       = 1
      interval       = "1h20m0s"
      delay          = "1m0s"
      delay_function = "constant"
      unlimited      = false
    }

    task "vigil" {
      driver       = "exec"
      kill_timeout = "30s"

      config {
        args    = ["run", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "vault-prod"]
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
  "serve": {}
}
EOT
      }

      vault {
        role        = "vigil-platform-backup-vault-prod"
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
