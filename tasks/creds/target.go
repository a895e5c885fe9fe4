package creds

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
)

// OpenTarget gets the run's credentials for the system a backup reads, as
// tc says: a Consul or Nomad token from Vault's secrets engine, an etcd
// client certificate from Vault's PKI engine (valid for ttl, or the spec's
// TTL), or an Elasticsearch API key or user from Vault KV. Leased ones are
// renewed while the session is open and revoked when it closes. A nil tc
// gives a session without secrets: the clients' environment applies.
func OpenTarget(ctx context.Context, tc *config.TargetCredentials, o Options, ttl time.Duration) (*Session, error) {
	if tc == nil {
		return &Session{}, nil
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	if o.Vault == nil {
		return nil, fmt.Errorf("creds: %s: %w", tc.Source, ErrNoVault)
	}
	if err := Preflight(ctx, o.Vault, tc.VaultNeeds()); err != nil {
		return nil, fmt.Errorf("creds: %s: %w", tc.Source, err)
	}
	switch tc.Source {
	case config.CredVaultConsul, config.CredVaultNomad:
		return openACLToken(ctx, tc, o)
	case config.CredVaultPKI:
		if tc.TTL > 0 {
			ttl = tc.TTL
		}
		return openCertificate(ctx, tc, o, ttl)
	case config.CredVaultKV:
		if tc.ForCommand() {
			return openKVUser(ctx, tc, o)
		}
		return openESKV(ctx, tc, o)
	case config.CredVaultDatabase:
		return openDatabaseUser(ctx, tc, o)
	}
	return nil, fmt.Errorf("creds: unknown credential source %q", tc.Source)
}

// openACLToken reads consul/creds/ROLE or nomad/creds/ROLE: a token with
// the role's policies, deleted from Consul or Nomad when its lease is
// revoked.
func openACLToken(ctx context.Context, tc *config.TargetCredentials, o Options) (*Session, error) {
	s, err := o.Vault.ReadWithContext(ctx, tc.VaultPath)
	if err != nil {
		return nil, fmt.Errorf("creds: %s read %s: %w", tc.Source, tc.VaultPath, err)
	}
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("creds: %s read %s: Vault returned no token", tc.Source, tc.VaultPath)
	}
	system, field := "Consul", "token"
	if tc.Source == config.CredVaultNomad {
		system, field = "Nomad", "secret_id"
	}
	sess := &Session{What: "the " + system + " token from " + tc.VaultPath}
	holdLease(sess, o, s)
	token := stringField(s.Data, field)
	if token == "" {
		return nil, joinClose(ctx, sess, fmt.Errorf("creds: %s read %s: the secret has no %s", tc.Source, tc.VaultPath, field))
	}
	if tc.Source == config.CredVaultNomad {
		sess.Secrets = &plugin.Secrets{NomadToken: token}
	} else {
		sess.Secrets = &plugin.Secrets{ConsulToken: token}
	}
	return sess, nil
}

// openDatabaseUser reads database/creds/ROLE: a user Vault's database
// engine creates for this run, dropped when its lease is revoked. It
// reaches the dump and restore only through the variables the spec names
// (username_env, password_env), never their argv.
func openDatabaseUser(ctx context.Context, tc *config.TargetCredentials, o Options) (*Session, error) {
	s, err := o.Vault.ReadWithContext(ctx, tc.VaultPath)
	if err != nil {
		return nil, fmt.Errorf("creds: vault_database read %s: %w", tc.VaultPath, err)
	}
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("creds: vault_database read %s: Vault returned no user", tc.VaultPath)
	}
	sess := &Session{What: "the database user from " + tc.VaultPath}
	holdLease(sess, o, s)
	user, pass := stringField(s.Data, "username"), stringField(s.Data, "password")
	if user == "" || pass == "" {
		return nil, joinClose(ctx, sess, fmt.Errorf("creds: vault_database read %s: the secret has no username and password", tc.VaultPath))
	}
	sess.Secrets = databaseUser(tc, user, pass)
	return sess, nil
}

// openKVUser reads a command backup's database user from a KV v2 secret
// with username and password: for a store Vault's database engine cannot
// manage. Nothing is revoked at the end; the operator rotates it.
func openKVUser(ctx context.Context, tc *config.TargetCredentials, o Options) (*Session, error) {
	data, err := readKV(ctx, tc.VaultPath, o)
	if err != nil {
		return nil, err
	}
	user, pass := stringField(data, "username"), stringField(data, "password")
	if user == "" || pass == "" {
		return nil, fmt.Errorf("creds: vault_kv_path read %s: the secret needs username and password", tc.VaultPath)
	}
	return &Session{What: "the database user from " + tc.VaultPath, Secrets: databaseUser(tc, user, pass)}, nil
}

// databaseUser hands a command's tools their user: the password only in
// password_env; the name in username_env, after username_arg, or both.
func databaseUser(tc *config.TargetCredentials, user, pass string) *plugin.Secrets {
	sec := &plugin.Secrets{Env: map[string]string{tc.PasswordEnv: pass}}
	if tc.UsernameEnv != "" {
		sec.Env[tc.UsernameEnv] = user
	}
	if tc.UsernameArg != "" {
		sec.UserArgs = []string{tc.UsernameArg, user}
	}
	return sec
}

// openCertificate writes pki/issue/ROLE for a certificate with the spec's
// common name; its key stays in memory. With the role's generate_lease the
// certificate is revoked when the session closes.
func openCertificate(ctx context.Context, tc *config.TargetCredentials, o Options, ttl time.Duration) (*Session, error) {
	data := map[string]any{"common_name": tc.CommonName}
	if ttl > 0 {
		// A minute past the run's end: the certificate must outlive the
		// deadline it is checked against, to the second.
		data["ttl"] = fmt.Sprintf("%ds", int((ttl + time.Minute).Seconds()))
	}
	s, err := o.Vault.WriteWithContext(ctx, tc.VaultPath, data)
	if err != nil {
		return nil, fmt.Errorf("creds: vault_pki_path write %s: %w", tc.VaultPath, err)
	}
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("creds: vault_pki_path write %s: Vault issued no certificate", tc.VaultPath)
	}
	sess := &Session{What: "the client certificate from " + tc.VaultPath}
	holdLease(sess, o, s)
	cert, err := tls.X509KeyPair([]byte(stringField(s.Data, "certificate")), []byte(stringField(s.Data, "private_key")))
	if err != nil {
		// The error of X509KeyPair never quotes the key.
		return nil, joinClose(ctx, sess, fmt.Errorf("creds: vault_pki_path write %s: %w", tc.VaultPath, err))
	}
	if exp, ok := s.Data["expiration"].(interface{ Int64() (int64, error) }); ok {
		if n, err := exp.Int64(); err == nil {
			sess.Expires = time.Unix(n, 0)
		}
	}
	sess.Refreshes = false // a certificate is not renewed
	sess.Secrets = &plugin.Secrets{Certificate: &cert}
	return sess, nil
}

// openESKV reads an Elasticsearch API key (api_key), or a user (username
// and password), from KV v2.
func openESKV(ctx context.Context, tc *config.TargetCredentials, o Options) (*Session, error) {
	data, err := readKV(ctx, tc.VaultPath, o)
	if err != nil {
		return nil, err
	}
	sec := &plugin.Secrets{ESAPIKey: stringField(data, "api_key"), ESUsername: stringField(data, "username"), ESPassword: stringField(data, "password")}
	if sec.ESAPIKey == "" && (sec.ESUsername == "" || sec.ESPassword == "") {
		return nil, fmt.Errorf("creds: vault_kv_path read %s: the secret needs api_key, or username and password", tc.VaultPath)
	}
	return &Session{Secrets: sec}, nil
}

// readKV reads a KV v2 secret's fields.
func readKV(ctx context.Context, path string, o Options) (map[string]any, error) {
	s, err := o.Vault.ReadWithContext(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("creds: vault_kv_path read %s: %w", path, err)
	}
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("creds: vault_kv_path read %s: no secret at this path", path)
	}
	data, ok := s.Data["data"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("creds: vault_kv_path read %s: not a KV v2 secret (no data.data)", path)
	}
	return data, nil
}
