consul {
  address = "http://consul.service.consul:8500"
}

nomad {
  datacenters = ["eu-west-1a", "eu-west-1b"]
  region      = "eu"
  namespace   = "platform"
  driver      = "docker"
  image       = "registry.internal/vigil:0.1.0"
  env = {
    AWS_CA_BUNDLE = "/etc/vigil/tls/ca.pem"
  }
  host_volume "vigil-tls" {
    path = "/etc/vigil/tls"
  }
  vault {
    role = "vigil-backup"
  }
  consul {}
}

storage "s3" "offsite" {
  bucket = "backups"
  region = "eu-west-1"
  credentials {
    vault_aws_path = "aws/sts/vigil"
  }
}

backup "consul_kv" "app-config" {
  schedule  = "*/10 * * * *"
  time_zone = "Europe/Berlin"
  storage   = storage.s3.offsite
  consul {
    prefix = "app/"
  }
  nomad {
    network_mode = "host"
  }
  retain {
    daily = 7
  }
}
