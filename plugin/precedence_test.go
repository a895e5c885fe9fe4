package plugin

import (
	"testing"

	"github.com/vigil-backup/vigil/hcl/config"
)

// TestAddressPrecedence: the clients vigil uses take the CLI's variables
// over the spec (flag > env > spec > default, as the consul and vault
// CLIs); a backup's source keeps the spec's address whatever the shell
// says, and falls back to the variables without one.
func TestAddressPrecedence(t *testing.T) {
	tls := &config.TLS{CAFile: "/spec/ca.pem"}
	t.Run("env set", func(t *testing.T) {
		t.Setenv("CONSUL_HTTP_ADDR", "https://env-consul:8501")
		t.Setenv("CONSUL_CACERT", "/env/ca.pem")
		t.Setenv("VAULT_ADDR", "https://env-vault:8200")
		control := ControlConfig(config.Control{Enabled: true, Address: "https://spec-consul:8501", TLS: tls})
		if control.Address != "env-consul:8501" || control.TLSConfig.CAFile != "/env/ca.pem" {
			t.Fatalf("control Consul: %s %s, want the environment's", control.Address, control.TLSConfig.CAFile)
		}
		source := ConsulConfig("https://spec-consul:8501", "", "", tls, SpecOverEnv)
		if source.Address != "spec-consul:8501" || source.TLSConfig.CAFile != "/spec/ca.pem" {
			t.Fatalf("backup source: %s %s, want the spec's", source.Address, source.TLSConfig.CAFile)
		}
		v, err := VaultConfig("https://spec-vault:8200", nil, EnvOverSpec)
		if err != nil || v.Address != "https://env-vault:8200" {
			t.Fatalf("control Vault: %v %v, want the environment's", v.Address, err)
		}
		v, err = VaultConfig("https://spec-vault:8200", nil, SpecOverEnv)
		if err != nil || v.Address != "https://spec-vault:8200" {
			t.Fatalf("vault_raft source: %v %v, want the spec's", v.Address, err)
		}
	})
	t.Run("env unset", func(t *testing.T) {
		t.Setenv("CONSUL_HTTP_ADDR", "")
		t.Setenv("CONSUL_CACERT", "")
		t.Setenv("VAULT_ADDR", "")
		for _, p := range []Precedence{EnvOverSpec, SpecOverEnv} {
			c := ConsulConfig("https://spec-consul:8501", "", "", tls, p)
			if c.Address != "spec-consul:8501" || c.Scheme != "https" || c.TLSConfig.CAFile != "/spec/ca.pem" {
				t.Fatalf("%v: Consul %s://%s %s, want the spec's", p, c.Scheme, c.Address, c.TLSConfig.CAFile)
			}
			v, err := VaultConfig("https://spec-vault:8200", nil, p)
			if err != nil || v.Address != "https://spec-vault:8200" {
				t.Fatalf("%v: Vault %v %v, want the spec's", p, v.Address, err)
			}
			if d := ConsulConfig("", "", "", nil, p); d.Address != "localhost:8500" {
				t.Fatalf("%v: no address anywhere gives %s, want the local agent", p, d.Address)
			}
		}
	})
}
