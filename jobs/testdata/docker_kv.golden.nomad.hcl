job "vigil-app-config" {
  type        = "batch"
  region      = "eu"
  namespace   = "platform"
  datacenters = ["eu-west-1a", "eu-west-1b"]

  meta {
    vigil_backup    = "app-config"
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "backup"
    vigil_spec_hash = "e86c1babbd4f22f7e1d9635e029454ab099ad3db5198954741fc5a4416b71217"
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

    volume "mount-vigil-tls" {
      type      = "host"
      source    = "vigil-tls"
      read_only = true
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
      driver       = "docker"
      kill_timeout = "30s"

      config {
        args         = ["run", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-backup", "app-config"]
        image        = "registry.internal/vigil:0.1.0"
        network_mode = "host"
      }

      env {
        AWS_CA_BUNDLE = "/etc/vigil/tls/ca.pem"
        VIGIL_NODE    = "$${node.unique.name}"
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
    "enabled": true,
    "address": "http://consul.service.consul:8500"
  },
  "vault": {},
  "nomad": {},
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

      volume_mount {
        volume      = "mount-vigil-tls"
        destination = "/etc/vigil/tls"
        read_only   = true
      }
    }
  }
}
job "vigil-serve-specs" {
  type        = "service"
  region      = "eu"
  namespace   = "platform"
  datacenters = ["eu-west-1a", "eu-west-1b"]

  meta {
    vigil_config    = "specs"
    vigil_managed   = "true"
    vigil_role      = "serve"
    vigil_spec_hash = "2974b8609d0a94ec1d2139e2b471e8aeff8d4f9300b3df0d47f831b010d89a90"
    vigil_version   = "0.0.0-test"
  }

  group "serve" {
    count = 1

    network {
      port "http" {
      }
    }

    volume "mount-vigil-tls" {
      type      = "host"
      source    = "vigil-tls"
      read_only = true
    }

    restart {
      attempts = 3
      interval = "30m0s"
      delay    = "15s"
      mode     = "delay"
    }

    task "vigil" {
      driver       = "docker"
      kill_timeout = "30s"

      config {
        args  = ["serve", "-config", "$${NOMAD_TASK_DIR}/vigil.json", "-addr", "0.0.0.0:$${NOMAD_PORT_http}"]
        image = "registry.internal/vigil:0.1.0"
        ports = ["http"]
      }

      env {
        AWS_CA_BUNDLE = "/etc/vigil/tls/ca.pem"
        VIGIL_NODE    = "$${node.unique.name}"
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
    "enabled": true,
    "address": "http://consul.service.consul:8500"
  },
  "vault": {},
  "nomad": {},
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

      volume_mount {
        volume      = "mount-vigil-tls"
        destination = "/etc/vigil/tls"
        read_only   = true
      }
    }
  }
}
