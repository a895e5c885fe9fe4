variable "vault_unseal_keys_file" {
  type        = string
  default     = "/etc/vigil/secrets/vault-unseal.json"
  description = "The production Vault's unseal keys (vault operator init -format=json), on the nodes drills run on."
}

variable "scratch_vault" {
  type        = string
  default     = ""
  description = "The vault binary drills start a scratch server with; empty looks it up on PATH."
}

# Vault's integrated storage (raft): every secret, mount, policy and token,
# as `vault operator raft snapshot save` writes it, from the active node.
backup "vault_raft" "vault-prod" {
  schedule = "41 */4 * * *"
  storage  = storage.s3.vault-snapshots
  timeout  = "20m"

  # The Vault the runs log in to: their policy (vigil setup) allows read
  # on sys/storage/raft/snapshot.
  vault {
    address = var.vault_addr
    ca_file = var.ca_file
  }

  retain {
    last  = 12
    daily = 14
  }

  # The archive's sums are always checked; with the unseal keys the drill
  # restores into a scratch raft Vault, unseals it, and looks inside.
  verify {
    schedule         = "50 4 * * *"
    unseal_keys_file = var.vault_unseal_keys_file
    mount "secret/" {}
    secret "secret/data/canary" {}
    scratch {
      vault = var.scratch_vault
    }
  }
}

# Vault's snapshots are already encrypted by its barrier (they are read
# only with the cluster's unseal keys), and encrypting them with this same
# Vault's Transit key would make a restore need the Vault being restored:
# they go to a storage of their own, unencrypted by vigil.
storage "s3" "vault-snapshots" {
  bucket     = var.bucket
  prefix     = "vigil-vault/"
  region     = "eu-central-1"
  endpoint   = var.s3_endpoint
  path_style = true
  sse        = "AES256"

  credentials {
    vault_identity_sts {
      role = var.s3_identity_role
    }
  }
}
