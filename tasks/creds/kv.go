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
