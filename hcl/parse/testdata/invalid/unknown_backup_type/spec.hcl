storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "postgres" "db" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
}
