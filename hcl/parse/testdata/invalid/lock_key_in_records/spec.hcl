storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "consul_snapshot" "snap" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  lock {
    key = "vigil/runs/snap"
  }
}
