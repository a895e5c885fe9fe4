package plugin

import (
	"fmt"
	"os"

	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// VaultConfig starts from the environment (VAULT_ADDR, VAULT_CACERT,
// VAULT_CAPATH, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME,
// VAULT_SKIP_VERIFY...) as the vault CLI does, and applies a spec block's
// address and TLS settings on top.
func VaultConfig(address string, t *config.TLS) (*vault.Config, error) {
	cfg := vault.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("vault: client: %w", cfg.Error)
	}
	SetIf(&cfg.Address, address)
	if t != nil {
		tc := &vault.TLSConfig{
			CACert: os.Getenv(vault.EnvVaultCACert), CAPath: os.Getenv(vault.EnvVaultCAPath),
			ClientCert: os.Getenv(vault.EnvVaultClientCert), ClientKey: os.Getenv(vault.EnvVaultClientKey),
			TLSServerName: os.Getenv(vault.EnvVaultTLSServerName),
		}
		SetIf(&tc.CACert, t.CAFile)
		SetIf(&tc.CAPath, t.CAPath)
		SetIf(&tc.ClientCert, t.CertFile)
		SetIf(&tc.ClientKey, t.KeyFile)
		SetIf(&tc.TLSServerName, t.ServerName)
		if err := cfg.ConfigureTLS(tc); err != nil {
			return nil, fmt.Errorf("vault: tls: %w", err)
		}
	}
	return cfg, nil
}
