storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "etcd" "main" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  timeout  = ["1h"]

  etcd {
    endpoints = "http://127.0.0.1:2379"
  }
}
