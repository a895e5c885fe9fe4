job "vigil-etcd-main" {
  type        = "batch"
  datacenters = ["dc1"]
  node_pool   = "default"
  priority    = 60

  meta {
    vigil_backup    = "etcd-main"
    vigil_config    = "platform"
    vigil_managed   = "true"
    vigil_role      = "backup"
    vigil_spec_hash = "847ae2bb66237eea6ef34754f54dd05bf3b4e30791ebbf3e53da539d0909c5dc"
    vigil_type      = "etcd"
    vigil_version   = "0.1.0-dev"
  }

  constraint {
    attribute = "$${attr.kernel.name}"
    value     = "linux"
  }

  periodic {
    crons            = ["0 */6 * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "backup" {
    count = 1

    restart {
      attempts = 1
      interval = "1h45m0s"
      delay    = "30s"
      mode     = "fail"
    }

    reschedule {
      attempts       = 1
      interval       = "1h45m0s"
      delay          = "1m0s"
      delay_function = "constant"
      unlimited      = false
    }

    task "vigil" {
      driver       = "exec"
      kill_timeout = "30s"

      config {
        args    = ["run", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "etcd-main"]
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
    }
  ],
  "telemetry": {},
  "serve": {}
}
EOT
      }

      vault {
        role        = "vigil-platform-backup-etcd-main"
        change_mode = "noop"
      }

      consul {
      }

      resources {
        cpu    = 200
        memory = 128
      }
    }
  }
}
