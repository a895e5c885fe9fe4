storage "local" "disk" {
  path = "/var/backups/café"
}
