storage "s3" "offsite" {
  bucket = "backups"
}

backup "consul_kv" "kv" {
  schedule = "0 * * * *"
  storage  = storage.s3.offsite
}
