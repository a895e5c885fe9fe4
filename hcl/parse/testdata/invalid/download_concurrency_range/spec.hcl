storage "s3" "offsite" {
  bucket = "backups"
  credentials {
    environment = true
  }
  download_concurrency = 64
}

backup "consul_snapshot" "snap" {
  schedule = "0 * * * *"
  storage  = storage.s3.offsite
}
