storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "vault_raft" "vault" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  verify {
    schedule = "0 4 * * *"
    seal "transit" {
      address    = "https://vault-transit.internal:8200"
      key_name   = "autounseal"
      mount_path = "transit/"
    }
  }
}
