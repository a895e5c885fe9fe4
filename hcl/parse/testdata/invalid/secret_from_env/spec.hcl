storage "local" "disk" {
  path = env("VAULT_TOKEN")
}
