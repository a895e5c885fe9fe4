storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "etcd" "main" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  etcd {
    endpoints = ["http://etcd.internal:2379"]
    credentials {
      vault_pki_path = "pki/issue/vigil"
    }
  }
}
