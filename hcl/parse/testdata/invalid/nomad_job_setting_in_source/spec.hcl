storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "nomad_snapshot" "nomad" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  nomad {
    address     = "https://nomad.internal:4646"
    datacenters = ["dc1"]
  }
}
