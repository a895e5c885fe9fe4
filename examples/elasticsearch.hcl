variable "es_url" {
  type    = string
  default = "https://elasticsearch.service.consul:9200"
}

variable "es_credentials" {
  type        = string
  default     = "secret/vigil/elasticsearch"
  description = "Vault KV path of vigil's Elasticsearch API key (api_key) or user (username, password)."
}

# Elasticsearch writes the snapshot into its own repository (S3 through
# repository-s3); vigil drives the snapshot API, checks it ends in SUCCESS,
# prunes old snapshots and keeps a manifest in storage.s3.primary.
backup "elasticsearch" "logs" {
  schedule = "0 2 * * *"
  storage  = storage.s3.primary
  timeout  = "2h"

  elasticsearch {
    url        = var.es_url
    repository = "s3-logs"
    indices    = ["logs-*"]

    credentials {
      vault_kv_path = var.es_credentials
    }

    repository_settings {
      type      = "s3"
      bucket    = "platform-es-snapshots"
      base_path = "logs"
      client    = "default"
    }
  }

  retain {
    last = 14
  }

  verify {
    schedule = "0 6 * * *"
    index "logs-*" {
      min_docs = 1
    }
  }
}
