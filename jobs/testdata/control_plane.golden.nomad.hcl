job "vigil-nomad" {
  type        = "batch"
  datacenters = ["*"]

  meta {
    vigil_backup    = "nomad"
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "backup"
    vigil_spec_hash = "8e2190aa7f1de86e02403696538dbe9057f63637725fe2fa98e6672b40fd3d94"
    vigil_type      = "nomad_snapshot"
    vigil_version   = "0.0.0-test"
  }

  periodic {
    crons            = ["0 * * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "backup" {
    count = 1

    volume "backups" {
      type      = "host"
      source    = "backups"
      read_only = false
    }

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
        args    = ["run", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "nomad", "-verify"]
        command = "/usr/local/bin/vigil"
      }

      env {
        VIGIL_NODE = "$${node.unique.name}"
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
      "type": "nomad_snapshot",
      "name": "nomad",
      "schedule": "0 * * * *",
      "storage": {
        "kind": "local",
        "name": "disk",
        "credentials": {},
        "path": "/var/backups",
        "host_volume": "backups"
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/nomad",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "nomad_cluster": {
        "address": "https://nomad.internal:4646",
        "tls": {
          "ca_file": "/etc/nomad/ca.pem"
        },
        "credentials": {
          "source": "vault_nomad_path",
          "vault_path": "nomad/creds/vigil"
        }
      },
      "verify": {
        "after_backup": true,
        "max_duration": 1800000000000,
        "min_jobs": 1,
        "jobs": [
          {
            "name": "web"
          }
        ],
        "variables": [
          {
            "name": "nomad/jobs/web",
            "namespace": "default"
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
        change_mode = "noop"
      }

      consul {
      }

      resources {
        cpu    = 200
        memory = 512
      }

      volume_mount {
        volume      = "backups"
        destination = "/var/backups"
        read_only   = false
      }
    }
  }
}
job "vigil-serve-specs" {
  type        = "service"
  datacenters = ["*"]

  meta {
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "serve"
    vigil_spec_hash = "98efa533e1eb94e7946f62a26342cdd1406429e7d175d5dbb7d7ce240b87e6a4"
    vigil_version   = "0.0.0-test"
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
        command = "/usr/local/bin/vigil"
      }

      env {
        VIGIL_NODE = "$${node.unique.name}"
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
      "type": "nomad_snapshot",
      "name": "nomad",
      "schedule": "0 * * * *",
      "storage": {
        "kind": "local",
        "name": "disk",
        "credentials": {},
        "path": "/var/backups",
        "host_volume": "backups"
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/nomad",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "nomad_cluster": {
        "address": "https://nomad.internal:4646",
        "tls": {
          "ca_file": "/etc/nomad/ca.pem"
        },
        "credentials": {
          "source": "vault_nomad_path",
          "vault_path": "nomad/creds/vigil"
        }
      },
      "verify": {
        "after_backup": true,
        "max_duration": 1800000000000,
        "min_jobs": 1,
        "jobs": [
          {
            "name": "web"
          }
        ],
        "variables": [
          {
            "name": "nomad/jobs/web",
            "namespace": "default"
          }
        ]
      },
      "nomad": {}
    },
    {
      "type": "vault_raft",
      "name": "vault",
      "schedule": "0 * * * *",
      "storage": {
        "kind": "local",
        "name": "disk",
        "credentials": {},
        "path": "/var/backups",
        "host_volume": "backups"
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/vault",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "vault_cluster": {
        "address": "https://vault.internal:8200"
      },
      "verify": {
        "schedule": "0 4 * * *",
        "max_duration": 1800000000000,
        "vault": {
          "unseal_keys_file": "/secrets/unseal.json",
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
job "vigil-vault" {
  type        = "batch"
  datacenters = ["*"]

  meta {
    vigil_backup    = "vault"
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "backup"
    vigil_spec_hash = "8e8e674b7e88ccd73a9c6fb5d4c93211207bfc7dd86724d87a762d2794d9b33d"
    vigil_type      = "vault_raft"
    vigil_version   = "0.0.0-test"
  }

  periodic {
    crons            = ["0 * * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "backup" {
    count = 1

    volume "backups" {
      type      = "host"
      source    = "backups"
      read_only = false
    }

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
        args    = ["run", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "vault"]
        command = "/usr/local/bin/vigil"
      }

      env {
        VIGIL_NODE = "$${node.unique.name}"
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
      "type": "vault_raft",
      "name": "vault",
      "schedule": "0 * * * *",
      "storage": {
        "kind": "local",
        "name": "disk",
        "credentials": {},
        "path": "/var/backups",
        "host_volume": "backups"
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/vault",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "vault_cluster": {
        "address": "https://vault.internal:8200"
      },
      "verify": {
        "schedule": "0 4 * * *",
        "max_duration": 1800000000000,
        "vault": {
          "unseal_keys_file": "/secrets/unseal.json",
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
        change_mode = "noop"
      }

      consul {
      }

      resources {
        cpu    = 200
        memory = 256
      }

      volume_mount {
        volume      = "backups"
        destination = "/var/backups"
        read_only   = false
      }
    }
  }
}
job "vigil-verify-vault" {
  type        = "batch"
  datacenters = ["*"]

  meta {
    vigil_backup    = "vault"
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "verify"
    vigil_spec_hash = "8e8e674b7e88ccd73a9c6fb5d4c93211207bfc7dd86724d87a762d2794d9b33d"
    vigil_type      = "vault_raft"
    vigil_version   = "0.0.0-test"
  }

  periodic {
    crons            = ["0 4 * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "verify" {
    count = 1

    volume "backups" {
      type      = "host"
      source    = "backups"
      read_only = true
    }

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
        args    = ["verify", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "vault", "-latest"]
        command = "/usr/local/bin/vigil"
      }

      env {
        VIGIL_NODE = "$${node.unique.name}"
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
      "type": "vault_raft",
      "name": "vault",
      "schedule": "0 * * * *",
      "storage": {
        "kind": "local",
        "name": "disk",
        "credentials": {},
        "path": "/var/backups",
        "host_volume": "backups"
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/vault",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "vault_cluster": {
        "address": "https://vault.internal:8200"
      },
      "verify": {
        "schedule": "0 4 * * *",
        "max_duration": 1800000000000,
        "vault": {
          "unseal_keys_file": "/secrets/unseal.json",
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
        change_mode = "noop"
      }

      consul {
      }

      resources {
        cpu    = 200
        memory = 512
      }

      volume_mount {
        volume      = "backups"
        destination = "/var/backups"
        read_only   = true
      }
    }
  }
}
