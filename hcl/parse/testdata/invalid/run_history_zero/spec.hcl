consul {
  run_history = 0
}

storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "consul_kv" "kv" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
}
