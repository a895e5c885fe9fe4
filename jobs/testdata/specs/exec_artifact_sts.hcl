nomad {
  driver   = "exec"
  artifact = "https://releases.example.com/vigil_0.2.0_linux_amd64.tar.gz"
  artifact_checksum = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
  priority = 80
  constraint {
    attribute = "$${node.class}"
    operator  = "="
    value     = "backup"
  }
}

storage "s3" "minio" {
  bucket     = "b"
  endpoint   = "http://minio.service.consul:9000"
  path_style = true
  credentials {
    vault_identity_sts {
      role     = "minio"
      duration = "1h"
    }
  }
}

backup "consul_snapshot" "snap" {
  schedule = "@hourly"
  storage  = storage.s3.minio
  consul {
    stale = true
  }
  nomad {
    resources {
      cpu    = 500
      memory = 64
    }
  }
}

backup "elasticsearch" "logs" {
  schedule = "0 1 * * *"
  storage  = storage.s3.minio
  elasticsearch {
    url        = "http://es.service.consul:9200"
    repository = "backups"
    indices    = ["logs-*"]
  }
}
