backup "consul_kv" "snap" {
  schedule = "30 * * * *"
  storage  = storage.local.disk
}
