storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "elasticsearch" "logs" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  elasticsearch {
    url        = "https://elastic:hunter2@es.internal:9200"
    repository = "backups"
  }
}
