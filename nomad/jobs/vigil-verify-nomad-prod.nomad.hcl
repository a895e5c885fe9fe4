job "vigil-verify-nomad-prod" {
  type        = "batch"
  datacenters = ["dc1"]
  node_pool   = "default"
  priority    = 60

  meta {
    vigil_backup    = "nomad-prod"
    vigil_config    = "platform"
    vigil_managed   = "true"
    vigil_role      = "verify"
    vigil_spec_hash = "202a2d144117ba9fedea8b2becc6a70673c3687d4d6cde492db7481f8c673e59"
    vigil_type      = "nomad_snapshot"
    vigil_version   = "0.1.0-dev"
  }

  constraint {
    attribute = "$${attr.kernel.name}"
    value     = "linux"
  }

  periodic {
    crons            = ["45 4 * * *"]
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
        args    = ["verify", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "nomad-prod", "-latest"]
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
    }
  ],
  "telemetry": {},
  "serve": {}
}
EOT
      }

      vault {
        role        = "vigil-platform-drill-nomad-prod"
        change_mode = "noop"
      }

      consul {
      }

      resources {
        cpu    = 200
        memory = 512
      }
    }
  }
}
