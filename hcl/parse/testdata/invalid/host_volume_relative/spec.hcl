storage "s3" "offsite" {
  bucket = "backups"
}

nomad {
  host_volume "tls" {
    path = "etc/tls"
  }
}

backup "consul_kv" "kv" {
  schedule = "0 * * * *"
  storage  = storage.s3.offsite
}
