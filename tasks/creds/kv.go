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
	s, err := o.Vault.ReadWithContext(ctx, c.VaultPath)
	if err != nil {
		return nil, fmt.Errorf("creds: vault_kv_path read %s: %w", c.VaultPath, err)
	}
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("creds: vault_kv_path read %s: no secret at this path", c.VaultPath)
	}
	data, ok := s.Data["data"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("creds: vault_kv_path read %s: not a KV v2 secret (no data.data)", c.VaultPath)
	}
	access := stringField(data, "access_key_id", "AWS_ACCESS_KEY_ID")
	secret := stringField(data, "secret_access_key", "AWS_SECRET_ACCESS_KEY")
	token := stringField(data, "session_token", "AWS_SESSION_TOKEN")
	if access == "" || secret == "" {
		return nil, fmt.Errorf("creds: vault_kv_path read %s: the secret needs access_key_id and secret_access_key", c.VaultPath)
	}
	return &Session{Provider: awscred.NewStaticCredentialsProvider(access, secret, token)}, nil
}
