storage "s3" "offsite" {
  bucket = "backups"

  credentials {
    vault_aws_path = "aws/creds/backup"
    vault_kv_path  = "secret/vigil/s3"
  }
}
