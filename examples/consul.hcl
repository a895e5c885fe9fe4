variable "scratch_consul" {
  type        = string
  default     = ""
  description = "The consul binary drills start a scratch agent with; empty looks it up on PATH."
}

variable "consul_addr" {
  type        = string
  default     = "https://consul.service.consul:8501"
  description = "The Consul cluster the consul_* backups read (not the control Consul)."
}

# The whole Consul state: catalog, KV, ACLs, sessions, as a raft snapshot.
backup "consul_snapshot" "consul-prod" {
  schedule  = "17 * * * *"
  time_zone = "UTC"
  storage   = storage.s3.primary
  timeout   = "20m"

  consul {
    address    = var.consul_addr
    datacenter = "dc1"
    stale      = true # any server may answer, so a busy leader is spared
    ca_file    = var.ca_file

    # A token for each run from Vault's Consul secrets engine, revoked at
    # its end; `vigil setup` gives the role acl = "write" (what Consul asks
    # of a snapshot) and nothing else. Each backup has its own role, so the
    # KV export below never holds a snapshot's rights.
    credentials {
      vault_consul_path = "consul/creds/vigil-platform-snapshot"
    }
  }

  retain {
    last    = 24
    daily   = 7
    weekly  = 4
    monthly = 6
  }

  lock {
    ttl  = "30s"
    wait = "0s" # a run that finds the lock held exits as skipped
  }

  verify {
    schedule     = "30 4 * * *"
    max_duration = "30m"
    max_age      = "36h"
    min_keys     = 1
    key "service/web/config" {}
    scratch {
      consul = var.scratch_consul
    }
  }
}

# Application configuration under service/, as `consul kv export` prints it.
backup "consul_kv" "consul-kv-services" {
  schedule    = "*/15 * * * *"
  storage     = storage.s3.primary
  compression = "zstd"

  consul {
    address = var.consul_addr
    prefix  = "service/"
    ca_file = var.ca_file
    credentials {
      vault_consul_path = "consul/creds/vigil-platform-kv"
    }
  }

  retain {
    last    = 96
    max_age = "30d"
  }

  verify {
    after_backup = true
    prefix "service/" {
      min_keys = 1
    }
    scratch {
      consul = var.scratch_consul
    }
  }
}
