storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "elasticsearch" "logs" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  elasticsearch {
    url        = "https://es.internal:9200"
    repository = "backups"
    credentials {
    }
  }
}
