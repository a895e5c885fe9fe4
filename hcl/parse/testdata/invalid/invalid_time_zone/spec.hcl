storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "consul_snapshot" "snap" {
  schedule  = "0 * * * *"
  time_zone = "Mars/Olympus"
  storage   = storage.local.disk
}
