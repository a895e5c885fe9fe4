# Static part of the Nomad agent (server and client in one, raft on disk)
# used by the e2e harness and `make demo`.
# The harness adds a second -config file with the ports, data dir, and the
# Consul and Vault addresses it picked, all on 127.0.0.1.

bind_addr = "127.0.0.1"

client {
  enabled           = true
  network_interface = "lo"

  options {
    # AWS_CA_BUNDLE is set on these machines and makes the env_aws
    # fingerprinter stop the agent; no cloud metadata is reachable anyway.
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}
