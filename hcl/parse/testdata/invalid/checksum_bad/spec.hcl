storage "local" "disk" {
  path = "/var/backups/vigil"
}

nomad {
  artifact          = "https://releases.example.com/vigil_0.2.0_linux_amd64.tar.gz"
  artifact_checksum = "sha256:1234"
}

backup "consul_snapshot" "snap" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
}
