storage "local" "disk" {
  path = "/var/backups/vigil"
}

nomad {
  artifact = "https://releases.example.com/vigil_0.2.0_linux_amd64.tar.gz"
}

backup "consul_snapshot" "snap" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  nomad {
    artifact_checksum = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
  }
}
