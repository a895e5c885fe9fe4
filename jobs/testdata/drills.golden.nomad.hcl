job "vigil-k8s" {
  type        = "batch"
  datacenters = ["*"]

  meta {
    vigil_backup    = "k8s"
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "backup"
    vigil_spec_hash = "759a11a47a9cf8d892c51f1f52845647c1af2b487cf2e51f0d00818c4550897f"
    vigil_type      = "etcd"
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
      source    = "vigil-backups"
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
      driver       = "raw_exec"
      kill_timeout = "30s"

      config {
        args    = ["run", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "k8s"]
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
      "type": "etcd",
      "name": "k8s",
      "schedule": "0 * * * *",
      "storage": {
        "kind": "local",
        "name": "disk",
        "credentials": {},
        "path": "/var/lib/vigil/backups",
        "host_volume": "vigil-backups"
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/k8s",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "etcd": {
        "endpoints": [
          "http://127.0.0.1:2379"
        ],
        "dial_timeout": 5000000000
      },
      "verify": {
        "schedule": "30 4 * * *",
        "max_duration": 1200000000000,
        "min_keys": 10,
        "scratch": {
          "artifact": "https://releases.example.com/etcd-v3.7.3-linux-amd64.tar.gz"
        },
        "keys": [
          {
            "key": "/registry/namespaces/default"
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

      consul {
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
job "vigil-kv" {
  type        = "batch"
  datacenters = ["*"]

  meta {
    vigil_backup    = "kv"
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "backup"
    vigil_spec_hash = "5204e035d0f0c36746a0211a8eed95eb3298d6600ef933a736f10ddd2b097f2a"
    vigil_type      = "consul_kv"
    vigil_version   = "0.0.0-test"
  }

  periodic {
    crons            = ["*/30 * * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "backup" {
    count = 1

    network {
      mode = "bridge"
    }

    volume "backups" {
      type      = "host"
      source    = "vigil-backups"
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
      driver       = "docker"
      kill_timeout = "30s"

      config {
        args  = ["run", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "kv", "-verify"]
        image = "registry.internal/vigil:0.1.0"
      }

      env {
        VIGIL_NODE                = "$${node.unique.name}"
        VIGIL_SCRATCH_CONSUL_ADDR = "127.0.0.1:8500"
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
      "type": "consul_kv",
      "name": "kv",
      "schedule": "*/30 * * * *",
      "storage": {
        "kind": "local",
        "name": "disk",
        "credentials": {},
        "path": "/var/lib/vigil/backups",
        "host_volume": "vigil-backups"
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/kv",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "consul": {
        "prefix": "app/"
      },
      "verify": {
        "after_backup": true,
        "max_duration": 1800000000000,
        "scratch": {
          "image": "hashicorp/consul:1.21.0"
        },
        "prefixes": [
          {
            "prefix": "app/",
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

      consul {
      }

      resources {
        cpu    = 200
        memory = 512
      }

      volume_mount {
        volume      = "backups"
        destination = "/var/lib/vigil/backups"
        read_only   = false
      }
    }

    task "scratch" {
      driver = "docker"

      lifecycle {
        hook    = "prestart"
        sidecar = true
      }

      config {
        args  = ["agent", "-dev", "-client", "127.0.0.1", "-bind", "127.0.0.1"]
        image = "hashicorp/consul:1.21.0"
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

  meta {
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "serve"
    vigil_spec_hash = "f2b83c854573f0691c3c8944150498adcc466abd222c6394541ef5e0486dbd54"
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
      driver       = "raw_exec"
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
      "type": "etcd",
      "name": "k8s",
      "schedule": "0 * * * *",
      "storage": {
        "kind": "local",
        "name": "disk",
        "credentials": {},
        "path": "/var/lib/vigil/backups",
        "host_volume": "vigil-backups"
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/k8s",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "etcd": {
        "endpoints": [
          "http://127.0.0.1:2379"
        ],
        "dial_timeout": 5000000000
      },
      "verify": {
        "schedule": "30 4 * * *",
        "max_duration": 1200000000000,
        "min_keys": 10,
        "scratch": {
          "artifact": "https://releases.example.com/etcd-v3.7.3-linux-amd64.tar.gz"
        },
        "keys": [
          {
            "key": "/registry/namespaces/default"
          }
        ]
      },
      "nomad": {}
    },
    {
      "type": "consul_kv",
      "name": "kv",
      "schedule": "*/30 * * * *",
      "storage": {
        "kind": "local",
        "name": "disk",
        "credentials": {},
        "path": "/var/lib/vigil/backups",
        "host_volume": "vigil-backups"
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/kv",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "consul": {
        "prefix": "app/"
      },
      "verify": {
        "after_backup": true,
        "max_duration": 1800000000000,
        "scratch": {
          "image": "hashicorp/consul:1.21.0"
        },
        "prefixes": [
          {
            "prefix": "app/",
            "min_keys": 1
          }
        ]
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
job "vigil-verify-k8s" {
  type        = "batch"
  datacenters = ["*"]

  meta {
    vigil_backup    = "k8s"
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "verify"
    vigil_spec_hash = "759a11a47a9cf8d892c51f1f52845647c1af2b487cf2e51f0d00818c4550897f"
    vigil_type      = "etcd"
    vigil_version   = "0.0.0-test"
  }

  periodic {
    crons            = ["30 4 * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "verify" {
    count = 1

    volume "backups" {
      type      = "host"
      source    = "vigil-backups"
      read_only = true
    }

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
      driver       = "raw_exec"
      kill_timeout = "30s"

      config {
        args    = ["verify", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "k8s", "-latest"]
        command = "/usr/local/bin/vigil"
      }

      env {
        VIGIL_NODE = "$${node.unique.name}"
      }

      artifact {
        source      = "https://releases.example.com/etcd-v3.7.3-linux-amd64.tar.gz"
        destination = "local/scratch/"
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
      "type": "etcd",
      "name": "k8s",
      "schedule": "0 * * * *",
      "storage": {
        "kind": "local",
        "name": "disk",
        "credentials": {},
        "path": "/var/lib/vigil/backups",
        "host_volume": "vigil-backups"
      },
      "retain": {},
      "lock": {
        "key": "vigil/locks/k8s",
        "ttl": 15000000000,
        "wait": 0
      },
      "timeout": 3600000000000,
      "compression": "zstd",
      "etcd": {
        "endpoints": [
          "http://127.0.0.1:2379"
        ],
        "dial_timeout": 5000000000
      },
      "verify": {
        "schedule": "30 4 * * *",
        "max_duration": 1200000000000,
        "min_keys": 10,
        "scratch": {
          "artifact": "https://releases.example.com/etcd-v3.7.3-linux-amd64.tar.gz"
        },
        "keys": [
          {
            "key": "/registry/namespaces/default"
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

      consul {
      }

      resources {
        cpu    = 200
        memory = 512
      }
    }
  }
}
