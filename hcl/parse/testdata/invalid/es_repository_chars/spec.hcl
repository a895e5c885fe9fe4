storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "elasticsearch" "logs" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  elasticsearch {
    url        = "http://127.0.0.1:9200"
    repository = "my backups"
  }
}
