nomad {
  driver   = "exec"
  artifact = "https://releases.example.com/vigil.tar.gz"
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
