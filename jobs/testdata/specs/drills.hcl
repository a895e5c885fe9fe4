nomad {
  driver = "raw_exec"
  binary = "/usr/local/bin/vigil"
}

storage "local" "disk" {
  path        = "/var/lib/vigil/backups"
  host_volume = "vigil-backups"
}

backup "etcd" "k8s" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  etcd {
    endpoints = ["http://127.0.0.1:2379"]
  }
  verify {
    schedule     = "30 4 * * *"
    max_duration = "20m"
    min_keys     = 10
    key "/registry/namespaces/default" {}
    scratch {
      artifact = "https://releases.example.com/etcd-v3.7.3-linux-amd64.tar.gz"
    }
  }
}

backup "consul_kv" "kv" {
  schedule = "*/30 * * * *"
  storage  = storage.local.disk
  consul {
    prefix = "app/"
  }
  verify {
    after_backup = true
    prefix "app/" {
      min_keys = 1
    }
    scratch {
      image = "hashicorp/consul:1.21.0"
    }
  }
  nomad {
    driver = "docker"
    image  = "registry.internal/vigil:0.1.0"
    binary = null
  }
}
