variable "etcd_endpoints" {
  type    = list(string)
  default = ["https://etcd-0.internal:2379", "https://etcd-1.internal:2379", "https://etcd-2.internal:2379"]
}

variable "scratch_etcd" {
  type        = list(string)
  default     = ["", ""]
  description = "The etcd and etcdutl binaries drills use; empty looks them up on PATH."
}

variable "etcd_tls" {
  type        = bool
  default     = true
  description = "Whether the etcd endpoints need client certificates."
}

backup "etcd" "etcd-main" {
  schedule = "0 */6 * * *"
  storage  = storage.s3.primary
  timeout  = "45m"

  etcd {
    endpoints = var.etcd_endpoints

    # dynamic blocks work as in Terraform: the harness runs etcd without TLS.
    dynamic "tls" {
      for_each = var.etcd_tls ? [1] : []
      content {
        ca_file   = "/etc/etcd/pki/ca.pem"
        cert_file = "/etc/etcd/pki/vigil.pem"
        key_file  = "/etc/etcd/pki/vigil-key.pem"
      }
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
