variable "nomad_addr" {
  type        = string
  default     = "https://nomad.service.consul:4646"
  description = "The Nomad cluster nomad-prod backs up."
}

variable "nomad_client_cert" {
  type        = list(string)
  default     = ["/etc/vigil/tls/nomad-client.pem", "/etc/vigil/tls/nomad-client-key.pem"]
  description = "The client certificate and key Nomad's mutual TLS asks for, on every node."
}

variable "scratch_nomad" {
  type        = string
  default     = ""
  description = "The nomad binary drills start a scratch server with; empty looks it up on PATH."
}

# The whole Nomad state: jobs, allocations, variables, ACL policies and
# tokens, as `nomad operator snapshot save` writes it.
backup "nomad_snapshot" "nomad-prod" {
  schedule = "23 */4 * * *"
  storage  = storage.s3.primary
  timeout  = "20m"

  # In a nomad_snapshot backup this block names the cluster backed up;
  # the job's own placement comes from the top-level nomad block.
  nomad {
    address   = var.nomad_addr
    ca_file   = var.ca_file
    cert_file = var.nomad_client_cert[0]
    key_file  = var.nomad_client_cert[1]

    # A token for each run from Vault's Nomad secrets engine, revoked at
    # its end; `vigil setup` gives its role the operator capability
    # snapshot-save (Nomad 1.11.3 and later) and nothing else.
    credentials {
      vault_nomad_path = "nomad/creds/vigil-platform"
    }
  }

  retain {
    last  = 12
    daily = 14
  }

  # A scratch Nomad server (no client: nothing restored is ever scheduled)
  # takes the snapshot; the backup's own job must be in it.
  verify {
    schedule = "45 4 * * *"
    min_jobs = 1
    job "vigil-nomad-prod" {}
    scratch {
      nomad = var.scratch_nomad
    }
  }
}
