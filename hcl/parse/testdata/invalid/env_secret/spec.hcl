storage "s3" "offsite" {
  bucket = "backups"
}

nomad {
  env = {
    AWS_CA_BUNDLE     = "/etc/ca.pem"
    AWS_SECRET_ACCESS = "x"
  }
}

backup "consul_kv" "kv" {
  schedule = "0 * * * *"
  storage  = storage.s3.offsite
}
