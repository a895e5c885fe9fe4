consul {
  enabled = false
}

nomad {
  driver = "raw_exec"
  binary = "/opt/vigil/bin/vigil"
}

storage "local" "disk" {
  path = "/var/lib/vigil/backups"
}

backup "etcd" "k8s" {
  schedule    = "0 3 * * *"
  storage     = storage.local.disk
  compression = "none"
  timeout     = "10m"
  etcd {
    endpoints = ["http://127.0.0.1:2379"]
  }
  lock {
    key  = "locks/etcd"
    ttl  = "1m"
    wait = "30s"
  }
}
