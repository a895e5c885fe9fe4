storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "etcd" "main" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  etcd {
    endpoints = ["https://etcd.internal:2379"]
    ca_file   = "/etc/etcd/ca.pem"
    credentials {
      vault_pki_path = "pki/sign/vigil"
    }
  }
}
