package plugin

import (
	"fmt"
	"os"

	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// VaultConfig starts from the environment (VAULT_ADDR, VAULT_CACERT,
// VAULT_CAPATH, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME,
// VAULT_SKIP_VERIFY...) as the vault CLI does, and combines a spec block's
// address and TLS settings with it by p.
func VaultConfig(address string, t *config.TLS, p Precedence) (*vault.Config, error) {
	cfg := vault.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("vault: client: %w", cfg.Error)
	}
	SetIf(&cfg.Address, p.Address(vault.EnvVaultAddress, address))
	if t != nil {
		tc := &vault.TLSConfig{
			CACert: os.Getenv(vault.EnvVaultCACert), CAPath: os.Getenv(vault.EnvVaultCAPath),
			ClientCert: os.Getenv(vault.EnvVaultClientCert), ClientKey: os.Getenv(vault.EnvVaultClientKey),
			TLSServerName: os.Getenv(vault.EnvVaultTLSServerName),
		}
		p.Set(&tc.CACert, t.CAFile)
		p.Set(&tc.CAPath, t.CAPath)
		p.Set(&tc.ClientCert, t.CertFile)
		p.Set(&tc.ClientKey, t.KeyFile)
		p.Set(&tc.TLSServerName, t.ServerName)
		if err := cfg.ConfigureTLS(tc); err != nil {
			return nil, fmt.Errorf("vault: tls: %w", err)
		}
	}
	return cfg, nil
}
