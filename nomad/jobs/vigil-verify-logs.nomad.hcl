job "vigil-verify-logs" {
  type        = "batch"
  datacenters = ["dc1"]
  node_pool   = "default"
  priority    = 60

  meta {
    vigil_backup    = "logs"
    vigil_config    = "platform"
    vigil_managed   = "true"
    vigil_role      = "verify"
    vigil_spec_hash = "967a223e4e0fda712b2a6836508d096750b65d104d20702c48538decc6a76e67"
    vigil_type      = "elasticsearch"
    vigil_version   = "0.1.0-dev"
  }

  constraint {
    attribute = "$${attr.kernel.name}"
    value     = "linux"
  }

  periodic {
    crons            = ["0 6 * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "verify" {
    count = 1

    restart {
      attempts = 1
      interval = "1h30m0s"
      delay    = "30s"
      mode     = "fail"
    }

    reschedule {
      attempts       = 1
      interval       = "1h30m0s"
      delay          = "1m0s"
      delay_function = "constant"
      unlimited      = false
    }

    task "vigil" {
      driver       = "exec"
      kill_timeout = "30s"

      config {
        args    = ["verify", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "logs", "-latest"]
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
    }
  ],
  "telemetry": {},
  "serve": {}
}
EOT
      }

      vault {
        role        = "vigil-platform-drill-logs"
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
