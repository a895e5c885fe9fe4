job "vigil-logs" {
  type        = "batch"
  datacenters = ["*"]
  priority    = 80

  meta {
    vigil_backup    = "logs"
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "backup"
    vigil_spec_hash = "fd7bbdb162f9b17676e43048b39b1bc96ee1ef048b668654cb6cc15c18ad9429"
    vigil_type      = "elasticsearch"
    vigil_version   = "0.0.0-test"
  }

  constraint {
    attribute = "$${node.class}"
    value     = "backup"
  }

  periodic {
    crons            = ["0 1 * * *"]
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
        args    = ["run", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "logs"]
        command = "$${NOMAD_TASK_DIR}/vigil"
      }

      env {
        VIGIL_NODE = "$${node.unique.name}"
      }

      artifact {
        source      = "https://releases.example.com/vigil_0.2.0_linux_amd64.tar.gz"
        destination = "local/"
        options {
          checksum = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        }
      }

      template {
        destination     = "local/vigil.json"
        change_mode     = "noop"
        left_delimiter  = "[[vigil:"
        right_delimiter = ":vigil]]"
        data            = <<EOT
{
  "id": "specs",
  "consul": {
    "enabled": true
  },
  "vault": {},
  "nomad": {},
  "backups": [
    {
      "type": "elasticsearch",
      "name": "logs",
      "schedule": "0 1 * * *",
      "storage": {
        "kind": "s3",
        "name": "minio",
        "bucket": "b",
        "region": "us-east-1",
        "endpoint": "http://minio.service.consul:9000",
        "path_style": true,
        "credentials": {
          "source": "vault_identity_sts",
          "identity_role": "minio",
          "duration": 3600000000000
        }
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/logs",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "none",
      "elasticsearch": {
        "url": "http://es.service.consul:9200",
        "repository": "backups",
        "indices": [
          "logs-*"
        ],
        "snapshot_prefix": "vigil-logs"
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
job "vigil-serve-specs" {
  type        = "service"
  datacenters = ["*"]
  priority    = 80

  meta {
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "serve"
    vigil_spec_hash = "6576195a68b51ca34f90d0077aac5a747d086e358dff03cd2b404ff11eab236a"
    vigil_version   = "0.0.0-test"
  }

  constraint {
    attribute = "$${node.class}"
    value     = "backup"
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
        source      = "https://releases.example.com/vigil_0.2.0_linux_amd64.tar.gz"
        destination = "local/"
        options {
          checksum = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        }
      }

      template {
        destination     = "local/vigil.json"
        change_mode     = "noop"
        left_delimiter  = "[[vigil:"
        right_delimiter = ":vigil]]"
        data            = <<EOT
{
  "id": "specs",
  "consul": {
    "enabled": true
  },
  "vault": {},
  "nomad": {},
  "backups": [
    {
      "type": "consul_snapshot",
      "name": "snap",
      "schedule": "@hourly",
      "storage": {
        "kind": "s3",
        "name": "minio",
        "bucket": "b",
        "region": "us-east-1",
        "endpoint": "http://minio.service.consul:9000",
        "path_style": true,
        "credentials": {
          "source": "vault_identity_sts",
          "identity_role": "minio",
          "duration": 3600000000000
        }
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/snap",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "consul": {
        "stale": true
      },
      "nomad": {}
    },
    {
      "type": "elasticsearch",
      "name": "logs",
      "schedule": "0 1 * * *",
      "storage": {
        "kind": "s3",
        "name": "minio",
        "bucket": "b",
        "region": "us-east-1",
        "endpoint": "http://minio.service.consul:9000",
        "path_style": true,
        "credentials": {
          "source": "vault_identity_sts",
          "identity_role": "minio",
          "duration": 3600000000000
        }
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/logs",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "none",
      "elasticsearch": {
        "url": "http://es.service.consul:9200",
        "repository": "backups",
        "indices": [
          "logs-*"
        ],
        "snapshot_prefix": "vigil-logs"
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
job "vigil-snap" {
  type        = "batch"
  datacenters = ["*"]
  priority    = 80

  meta {
    vigil_backup    = "snap"
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "backup"
    vigil_spec_hash = "6e6693c952a9e66322c3e882d95236fc69582fb08ce5e99ae2fd1447120248b2"
    vigil_type      = "consul_snapshot"
    vigil_version   = "0.0.0-test"
  }

  constraint {
    attribute = "$${node.class}"
    value     = "backup"
  }

  periodic {
    crons            = ["@hourly"]
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
        args    = ["run", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "snap"]
        command = "$${NOMAD_TASK_DIR}/vigil"
      }

      env {
        VIGIL_NODE = "$${node.unique.name}"
      }

      artifact {
        source      = "https://releases.example.com/vigil_0.2.0_linux_amd64.tar.gz"
        destination = "local/"
        options {
          checksum = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        }
      }

      template {
        destination     = "local/vigil.json"
        change_mode     = "noop"
        left_delimiter  = "[[vigil:"
        right_delimiter = ":vigil]]"
        data            = <<EOT
{
  "id": "specs",
  "consul": {
    "enabled": true
  },
  "vault": {},
  "nomad": {},
  "backups": [
    {
      "type": "consul_snapshot",
      "name": "snap",
      "schedule": "@hourly",
      "storage": {
        "kind": "s3",
        "name": "minio",
        "bucket": "b",
        "region": "us-east-1",
        "endpoint": "http://minio.service.consul:9000",
        "path_style": true,
        "credentials": {
          "source": "vault_identity_sts",
          "identity_role": "minio",
          "duration": 3600000000000
        }
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/snap",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "consul": {
        "stale": true
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
        change_mode = "noop"
      }

      consul {
      }

      resources {
        cpu    = 500
        memory = 64
      }
    }
  }
}
