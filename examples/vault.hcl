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
  storage  = storage.s3.primary
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
