variable "target" {
  default = "disk"
}

backup "consul_kv" "kv" {
  schedule = "0 * * * *"
  storage  = var.target
}
