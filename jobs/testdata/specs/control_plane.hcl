storage "local" "disk" {
  path        = "/var/backups"
  host_volume = "backups"
}

backup "nomad_snapshot" "nomad" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  nomad {
    address = "https://nomad.internal:4646"
    ca_file = "/etc/nomad/ca.pem"
    credentials {
      vault_nomad_path = "nomad/creds/vigil"
    }
  }
  verify {
    after_backup = true
    min_jobs = 1
    job "web" {}
    variable "nomad/jobs/web" { namespace = "default" }
  }
}

backup "vault_raft" "vault" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  vault {
    address = "https://vault.internal:8200"
  }
  verify {
    schedule = "0 4 * * *"
    unseal_keys_file = "/secrets/unseal.json"
    mount "secret/" {}
    secret "secret/data/canary" {}
  }
}
