storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "consul_kv" "kv" {
  schedule = "0 * * * *"
  storage  = storage.local.disk

  verify {
    index "logs-*" {
      min_docs = 10
    }
  }
}
