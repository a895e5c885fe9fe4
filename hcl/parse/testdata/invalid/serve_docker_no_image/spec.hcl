storage "local" "disk" {
  path = "/var/backups/vigil"
}

nomad {
  driver = "docker"
}

backup "consul_snapshot" "snap" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  nomad {
    image = "vigil:0.2.0"
  }
}
