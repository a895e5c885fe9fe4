storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "consul_snapshot" "prod" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  consul {
    credentials {
      vault_consul_path = "consul/creds/vigil"
      common_name       = "vigil"
    }
  }
}
