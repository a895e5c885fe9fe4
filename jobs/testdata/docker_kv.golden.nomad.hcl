job "vigil-app-config" {
  type        = "batch"
  region      = "eu"
  namespace   = "platform"
  datacenters = ["eu-west-1a", "eu-west-1b"]

  meta {
    vigil_backup    = "app-config"
    vigil_managed   = "true"
    vigil_role      = "backup"
    vigil_spec_hash = "3b41306de6fdf5e6b15e4620ed04c9ce00c8f27acfdbfd3c656504ad078d147f"
    vigil_type      = "consul_kv"
    vigil_version   = "0.0.0-test"
  }

  periodic {
    crons            = ["*/10 * * * *"]
    prohibit_overlap = true
    time_zone        = "Europe/Berlin"
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
      driver       = "docker"
      kill_timeout = "30s"

      config {
        args  = ["run", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "app-config"]
        image = "registry.internal/vigil:0.1.0"
      }

      template {
        destination     = "local/vigil.json"
        change_mode     = "noop"
        left_delimiter  = "[[vigil:"
        right_delimiter = ":vigil]]"
        data            = <<EOT
{
  "consul": {
    "enabled": true,
    "address": "http://consul.service.consul:8500"
  },
  "nomad": {},
  "storages": [
    {
      "kind": "s3",
      "name": "offsite",
      "bucket": "backups",
      "region": "eu-west-1",
      "credentials": {
        "source": "vault_aws_path",
        "vault_path": "aws/sts/vigil"
      }
    }
  ],
  "backups": [
    {
      "type": "consul_kv",
      "name": "app-config",
      "schedule": "*/10 * * * *",
      "time_zone": "Europe/Berlin",
      "storage": {
        "kind": "s3",
        "name": "offsite",
        "bucket": "backups",
        "region": "eu-west-1",
        "credentials": {
          "source": "vault_aws_path",
          "vault_path": "aws/sts/vigil"
        }
      },
      "retain": {
        "daily": 7
      },
      "lock": {
        "key": "vigil/locks/app-config",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "consul": {
        "prefix": "app/"
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
        role        = "vigil-backup"
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
