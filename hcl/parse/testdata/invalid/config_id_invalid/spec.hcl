config_id = "Platform Team"

storage "local" "disk" {
  path = "/var/backups/vigil"
}
