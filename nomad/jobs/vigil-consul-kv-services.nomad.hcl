job "vigil-consul-kv-services" {
  type        = "batch"
  datacenters = ["dc1"]
  node_pool   = "default"
  priority    = 60

  meta {
    vigil_backup    = "consul-kv-services"
    vigil_config    = "platform"
    vigil_managed   = "true"
    vigil_role      = "backup"
    vigil_spec_hash = "9f63ad51d1f28a24b1ce7f013d5a9262c89beb5cd47d46d6718644ebc222949c"
    vigil_type      = "consul_kv"
    vigil_version   = "0.1.0-dev"
  }

  constraint {
    attribute = "$${attr.kernel.name}"
    value     = "linux"
  }

  periodic {
    crons            = ["*/15 * * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "backup" {
    count = 1

    restart {
      attempts = 1
      interval = "2h30m0s"
      delay    = "30s"
      mode     = "fail"
    }

    reschedule {
      attempts       = 1
      interval       = "2h30m0s"
      delay          = "1m0s"
      delay_function = "constant"
      unlimited      = false
    }

    task "vigil" {
      driver       = "exec"
      kill_timeout = "30s"

      config {
        args    = ["run", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "consul-kv-services", "-verify"]
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
    }
  ],
  "telemetry": {},
  "serve": {}
}
EOT
      }

      vault {
        role        = "vigil-platform-backup-consul-kv-services"
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
