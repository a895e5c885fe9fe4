storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "consul_kv" "kv" {
  schedule = "0 * * * *"
  storage  = storage.s3.offsite
}
