storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "consul_kv" "services" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  consul {
    prefix = "service/"
  }
  verify {
    after_backup = true
    job "web" {}
  }
}
