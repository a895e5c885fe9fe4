storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "consul_kv" "services" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  consul {
    prefix = "service/"
    credentials {
      vault_pki_path = "pki/issue/vigil"
    }
  }
}
