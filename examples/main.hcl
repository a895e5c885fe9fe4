# Shared settings for the example backups: where runs keep their locks and
# records, how Nomad places the jobs, and where backups go.
#
# Every address is a variable, so the same specs run against production and
# against the local harness (`make demo` passes -var flags).

# The configuration's ID: its jobs carry it, its vigil serve job is
# vigil-serve-<ID>, and `vigil apply -prune` stops only jobs with this ID.
# Without it, the ID is the spec directory's name.
config_id = "platform"

variable "datacenters" {
  type        = list(string)
  default     = ["dc1"]
  description = "Nomad datacenters the backup jobs may run in."
}

variable "driver" {
  type        = string
  default     = "exec"
  description = "Nomad task driver: exec in production, raw_exec on a dev agent."
}

variable "vigil_artifact" {
  type        = string
  default     = "https://releases.example.com/vigil/v0.1.0/vigil_0.1.0_linux_amd64.tar.gz"
  description = "Where the exec driver fetches the vigil release archive (make release). Empty to use vigil_binary."
}

variable "vigil_artifact_checksum" {
  type        = string
  default     = ""
  description = "The archive's line in the release's SHA256SUMS, as sha256:HEX; Nomad refuses a download that differs."
}

variable "vigil_binary" {
  type        = string
  default     = "/usr/local/bin/vigil"
  description = "Path of the vigil binary on the node when no artifact is fetched."
}

variable "control_consul" {
  type        = string
  default     = "https://127.0.0.1:8501"
  description = "The Consul that holds vigil's locks, run records and health checks."
}

variable "ca_file" {
  type        = string
  default     = "/etc/vigil/tls/ca.pem"
  description = "The CA that signed Consul's and Vault's certificates, on every node (empty: the system's CAs)."
}

variable "vault_role" {
  type        = string
  default     = "vigil-platform"
  description = "The Vault JWT role the jobs log in with: the one `vigil setup` writes."
}

variable "vault_addr" {
  type        = string
  default     = "https://vault.service.consul:8200"
  description = "Vault, for the runs' credentials. Nomad gives the task a token but not this address."
}

variable "s3_endpoint" {
  type        = string
  default     = "https://s3.eu-central-1.amazonaws.com"
  description = "S3 endpoint; a MinIO URL in the harness."
}

variable "s3_identity_role" {
  type        = string
  default     = "s3-backup"
  description = "Vault identity token role whose tokens the S3 endpoint's STS trusts."
}

variable "bucket" {
  type    = string
  default = "platform-backups"
}

# vigil keeps locks and run records in this Consul. Set enabled = false to
# run standalone, with a file lock and records beside the backups.
# The task's token comes from Nomad's workload identity (Nomad gives every
# task of a configuration with a control Consul a consul block);
# `vigil setup` binds it to a role with exactly the rules the runs need.
consul {
  address    = var.control_consul
  datacenter = "dc1"
  ca_file    = var.ca_file
}

vault {
  address = var.vault_addr
  ca_file = var.ca_file
}

nomad {
  datacenters = var.datacenters
  node_pool   = "default"
  priority    = 60
  driver      = var.driver
  artifact    = var.vigil_artifact
  binary      = var.vigil_binary

  artifact_checksum = var.vigil_artifact_checksum

  constraint {
    attribute = "$${attr.kernel.name}" # $$ escapes Nomad's own interpolation
    value     = "linux"
  }

  resources {
    cpu    = 200
    memory = 256
  }

  # Nomad workload identity: the task receives a VAULT_TOKEN from Vault's
  # JWT auth method under this role, which `vigil setup` writes. No secret
  # is ever in the job.
  vault {
    role = var.vault_role
  }
}

# Short-lived S3 keys: the task's Vault token reads an identity token from
# identity/oidc/token/s3-backup, and the S3 endpoint's STS swaps it for keys
# that expire with it.
storage "s3" "primary" {
  bucket     = var.bucket
  prefix     = "vigil/"
  region     = "eu-central-1"
  endpoint   = var.s3_endpoint
  path_style = true
  sse        = "AES256"

  credentials {
    vault_identity_sts {
      role = var.s3_identity_role
    }
  }

  # Every backup stored here is encrypted with its own data key from
  # Vault's Transit engine (wrapped by this key), and its manifest signed:
  # reading the bucket reveals nothing, editing it is detected.
  encryption {
    vault_transit {
      key = "vigil-backups"
    }
  }
}
