package creds

import (
	"context"
	"fmt"

	awscred "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/vigil-backup/vigil/hcl/config"
)

// openKV reads static keys from KV v2: access_key_id, secret_access_key and
// an optional session_token (AWS_* names are accepted too).
func openKV(ctx context.Context, c config.Credentials, o Options) (*Session, error) {
	data, err := readKV(ctx, c.VaultPath, o)
	if err != nil {
		return nil, err
	}
	access := stringField(data, "access_key_id", "AWS_ACCESS_KEY_ID")
	secret := stringField(data, "secret_access_key", "AWS_SECRET_ACCESS_KEY")
	token := stringField(data, "session_token", "AWS_SESSION_TOKEN")
	if access == "" || secret == "" {
		return nil, fmt.Errorf("creds: vault_kv_path read %s: the secret needs access_key_id and secret_access_key", c.VaultPath)
	}
	return &Session{Provider: awscred.NewStaticCredentialsProvider(access, secret, token)}, nil
}

// CloudKey reads a gcs or azure storage's key from its KV v2 secret: the
// field service_account_json or account_key. With the SDK's own chain
// (environment) there is none to read, and it returns "".
func CloudKey(ctx context.Context, c config.Credentials, o Options, field string) (string, error) {
	if c.Source != config.CredVaultKV {
		return "", nil
	}
	if o.Vault == nil {
		return "", fmt.Errorf("creds: vault_kv_path: %w", ErrNoVault)
	}
	data, err := readKV(ctx, c.VaultPath, o)
	if err != nil {
		return "", err
	}
	key := stringField(data, field)
	if key == "" {
		return "", fmt.Errorf("creds: vault_kv_path read %s: the secret needs %s", c.VaultPath, field)
	}
	return key, nil
}
