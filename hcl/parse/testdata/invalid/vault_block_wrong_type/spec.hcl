storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "etcd" "main" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  etcd {
    endpoints = ["http://127.0.0.1:2379"]
  }
  vault {
    address = "https://vault.internal:8200"
  }
}
