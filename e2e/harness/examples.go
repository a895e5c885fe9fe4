package harness

// ExampleVars are the values of examples/'s variables that point the
// example specs at this stack: its servers, its CA and certificates, the
// scratch servers' binaries, and raw_exec with vigilBin as the task.
func (s *Stack) ExampleVars(vigilBin string) []string {
	tool := func(name string) string {
		p, err := Tool(name)
		if err != nil {
			return name
		}
		return p
	}
	return []string{
		`datacenters=["dc1"]`,
		"driver=raw_exec",
		"vigil_artifact=",
		"vigil_binary=" + vigilBin,
		"control_consul=" + s.Consul.URL(),
		"vault_addr=" + s.Vault.URL(),
		"consul_addr=" + s.Consul.URL(),
		"ca_file=" + s.Sec.CA.File,
		"s3_endpoint=" + s.MinIO.Endpoint(),
		"bucket=" + Bucket,
		"s3_identity_role=" + OIDCRole,
		`etcd_endpoints=["` + s.Etcd.Endpoint + `"]`,
		"etcd_ca_file=" + s.Sec.CA.File,
		"es_url=" + s.ES.URL,
		"es_credentials=" + ESKVPath,
		"scratch_consul=" + tool("consul"),
		`scratch_etcd=["` + tool("etcd") + `","` + tool("etcdutl") + `"]`,
		"nomad_addr=" + s.Nomad.URL(),
		`nomad_client_cert=["` + s.Sec.Admin.CertFile + `","` + s.Sec.Admin.KeyFile + `"]`,
		"scratch_nomad=" + tool("nomad"),
		"scratch_vault=" + tool("vault"),
		"vault_unseal_keys_file=" + s.Vault.UnsealKeysFile,
	}
}

// AsFlags turns NAME=VALUE pairs into -var flags.
func AsFlags(vars []string) []string {
	var out []string
	for _, v := range vars {
		out = append(out, "-var", v)
	}
	return out
}
