job "vigil-verify-consul-prod" {
  type        = "batch"
  datacenters = ["dc1"]
  node_pool   = "default"
  priority    = 60

  meta {
    vigil_backup    = "consul-prod"
    vigil_config    = "platform"
    vigil_managed   = "true"
    vigil_role      = "verify"
    vigil_spec_hash = "19c3e4ebedb0edc98d210c41a7312e2a0aa4479f7910a8cb0078b9f23c1a3230"
    vigil_type      = "consul_snapshot"
    vigil_version   = "0.1.0-dev"
  }

  constraint {
    attribute = "$${attr.kernel.name}"
    value     = "linux"
  }

  periodic {
    crons            = ["30 4 * * *"]
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
        args    = ["verify", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "consul-prod", "-latest"]
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
    }
  ],
  "telemetry": {},
  "serve": {}
}
EOT
      }

      vault {
        role        = "vigil-platform-drill-consul-prod"
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
