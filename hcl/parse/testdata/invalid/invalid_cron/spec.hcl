storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "consul_snapshot" "snap" {
  schedule = "61 * * * *"
  storage  = storage.local.disk
}
