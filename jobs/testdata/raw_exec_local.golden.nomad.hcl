job "vigil-k8s" {
  type        = "batch"
  datacenters = ["*"]

  meta {
    vigil_backup    = "k8s"
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "backup"
    vigil_spec_hash = "33424ef6e9c1258ce409eb38867a0df8d38df09dd0afcc306cb76c4ed88e3336"
    vigil_type      = "etcd"
    vigil_version   = "0.0.0-test"
  }

  periodic {
    crons            = ["0 3 * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "backup" {
    count = 1

    restart {
      attempts = 1
      interval = "1h10m0s"
      delay    = "30s"
      mode     = "fail"
    }

    reschedule {
      attempts       = 1
      interval       = "1h10m0s"
      delay          = "1m0s"
      delay_function = "constant"
      unlimited      = false
    }

    task "vigil" {
      driver       = "raw_exec"
      kill_timeout = "30s"

      config {
        args    = ["run", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "k8s"]
        command = "/opt/vigil/bin/vigil"
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
    "enabled": false
  },
  "vault": {},
  "nomad": {},
  "backups": [
    {
      "type": "etcd",
      "name": "k8s",
      "schedule": "0 3 * * *",
      "storage": {
        "kind": "local",
        "name": "disk",
        "credentials": {},
        "path": "/var/lib/vigil/backups"
      },
      "retain": {},
      "lock": {
        "key": "locks/etcd",
        "ttl": 60000000000,
        "wait": 30000000000
      },
      "timeout": 600000000000,
      "compression": "none",
      "etcd": {
        "endpoints": [
          "http://127.0.0.1:2379"
        ],
        "dial_timeout": 5000000000
      },
      "nomad": {}
    }
  ],
  "telemetry": {},
  "serve": {}
}
EOT
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
