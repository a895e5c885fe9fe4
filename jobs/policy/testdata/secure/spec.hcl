config_id = "secure"

consul {
  address = "https://consul.internal:8501"
  ca_file = "/etc/consul/ca.pem"
}

vault {
  address = "https://vault.internal:8200"
  ca_file = "/etc/vault/ca.pem"
}

nomad {
  datacenters = ["dc1"]
  namespace   = "backups"
  vault {
    role = "vigil-secure"
  }
}

storage "s3" "primary" {
  bucket = "backups"
  credentials {
    vault_aws_path = "aws/creds/backup"
  }
}

backup "consul_snapshot" "snap" {
  schedule = "0 * * * *"
  storage  = storage.s3.primary
  consul {
    address = "https://consul.internal:8501"
    ca_file = "/etc/consul/ca.pem"
    credentials {
      vault_consul_path = "consul/creds/vigil-snapshot"
    }
  }
}

backup "consul_kv" "kv" {
  schedule = "0 * * * *"
  storage  = storage.s3.primary
  consul {
    address = "https://consul.internal:8501"
    prefix  = "app/"
    credentials {
      vault_consul_path = "consul/creds/vigil-kv"
    }
  }
}

backup "etcd" "k8s" {
  schedule = "0 * * * *"
  storage  = storage.s3.primary
  etcd {
    endpoints = ["https://etcd-0.internal:2379"]
    ca_file   = "/etc/etcd/ca.pem"
    credentials {
      vault_pki_path = "pki/issue/vigil-etcd"
      common_name    = "vigil"
    }
  }
  verify {
    schedule = "0 4 * * *"
  }
}

backup "elasticsearch" "logs" {
  schedule = "0 2 * * *"
  storage  = storage.s3.primary
  elasticsearch {
    url        = "https://es.internal:9200"
    repository = "backups"
    ca_file    = "/etc/es/ca.pem"
    credentials {
      vault_kv_path = "secret/vigil/elasticsearch"
    }
  }
}
