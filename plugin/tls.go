package plugin

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/hashicorp/go-rootcerts"
	"github.com/vigil-backup/vigil/hcl/config"
)

// Secrets are a run's credentials for the system a backup reads, issued
// for the run by Vault (tasks/creds). Nil, or an empty field, leaves the
// client's own environment in charge (CONSUL_HTTP_TOKEN, ES_API_KEY, a
// cert_file). They never enter a Config, a log, a record or an error.
type Secrets struct {
	// ConsulToken is a Consul ACL token (Vault's Consul secrets engine).
	ConsulToken string
	// NomadToken is a Nomad ACL token (Vault's Nomad secrets engine).
	NomadToken string
	// VaultToken is a token of the Vault a vault_raft backup reads or a
	// restore writes (vigil restore -to-token-file).
	VaultToken string
	// Certificate is a client certificate (Vault's PKI engine): etcd takes
	// its CN as the user with client-certificate authentication.
	Certificate *tls.Certificate
	// ESAPIKey, or ESUsername and ESPassword, authenticate to Elasticsearch.
	ESAPIKey, ESUsername, ESPassword string
	// Env is what a command backup's dump and restore get in their
	// environment: a database user from Vault's database engine.
	Env map[string]string
	// UserArgs name the database user to tools that read it from an
	// option (--user NAME): put right after the program's name. A user's
	// name is not a secret; its password never goes here.
	UserArgs []string
}

// ClientTLS builds a client TLS config from a block's settings: the CA
// from ca_file or ca_path (else the system's), the client certificate from
// cert_file and key_file, or from cert when Vault issued one. It never
// turns verification off.
func ClientTLS(t *config.TLS, cert *tls.Certificate) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if t != nil {
		if err := rootcerts.ConfigureTLS(c, &rootcerts.Config{CAFile: t.CAFile, CAPath: t.CAPath}); err != nil {
			return nil, fmt.Errorf("tls: CA %s%s: %w", t.CAFile, t.CAPath, err)
		}
		c.ServerName = t.ServerName
		if t.CertFile != "" {
			pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("tls: client certificate %s: %w", t.CertFile, err)
			}
			if err := checkValidity(pair.Leaf, time.Now()); err != nil {
				// The server would only answer "bad certificate" or
				// "expired certificate", without saying whose.
				return nil, fmt.Errorf("tls: client certificate %s: %w", t.CertFile, err)
			}
			c.Certificates = []tls.Certificate{pair}
		}
	}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return c, nil
}

// checkValidity refuses a certificate outside its validity period.
func checkValidity(leaf *x509.Certificate, now time.Time) error {
	switch {
	case leaf == nil:
		return nil
	case now.After(leaf.NotAfter):
		return fmt.Errorf("expired at %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return fmt.Errorf("not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}
