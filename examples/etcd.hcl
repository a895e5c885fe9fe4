variable "etcd_endpoints" {
  type    = list(string)
  default = ["https://etcd-0.internal:2379", "https://etcd-1.internal:2379", "https://etcd-2.internal:2379"]
}

variable "scratch_etcd" {
  type        = list(string)
  default     = ["", ""]
  description = "The etcd and etcdutl binaries drills use; empty looks them up on PATH."
}

variable "etcd_ca_file" {
  type        = string
  default     = "/etc/etcd/pki/ca.pem"
  description = "The CA that signed the etcd members' certificates."
}

backup "etcd" "etcd-main" {
  schedule = "0 */6 * * *"
  storage  = storage.s3.primary
  timeout  = "45m"

  etcd {
    endpoints = var.etcd_endpoints
    ca_file   = var.etcd_ca_file

    # A client certificate for each run from Vault's PKI engine, revoked at
    # its end; etcd takes its CN as the user, which `vigil setup` gives
    # the root role (etcd allows snapshots to no narrower one).
    credentials {
      vault_pki_path = "pki/issue/vigil-platform"
      common_name    = "vigil"
    }
  }

  retain {
    last  = 8
    daily = 14
  }

  verify {
    schedule = "0 5 * * 0"
    min_keys = 1
    scratch {
      etcd    = var.scratch_etcd[0]
      etcdutl = var.scratch_etcd[1]
    }
  }

  nomad {
    resources {
      memory = 128
    }
  }
}
