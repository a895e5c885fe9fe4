storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "vault_raft" "vault" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  verify {
    schedule = "0 4 * * *"
    mount "secret/" {}
  }
}
