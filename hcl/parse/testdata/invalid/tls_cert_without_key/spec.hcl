consul {
  address   = "https://consul.internal:8501"
  ca_file   = "/etc/consul/ca.pem"
  cert_file = "/etc/consul/client.pem"
}

storage "local" "disk" {
  path = "/var/backups/vigil"
}

backup "consul_snapshot" "prod" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
}
