package creds

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	stscred "github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/store/s3"
)

// placeholderRoleARN satisfies the SDK, which requires a role ARN; MinIO
// ignores it (its policy comes from the token's claim).
const placeholderRoleARN = "arn:minio:iam:::role/vigil"

// openIdentitySTS exchanges a Vault identity token for temporary keys at the
// S3 endpoint's STS (AssumeRoleWithWebIdentity). The credentials cache
// refreshes them before they expire, so a run may outlast the token TTL.
// Nothing needs revoking: the keys die with the identity token.
func openIdentitySTS(ctx context.Context, c config.Credentials, o Options) (*Session, error) {
	opts := sts.Options{
		Region:     orDefault(o.Region, "us-east-1"),
		HTTPClient: s3.HTTPClient(""),
	}
	if o.Endpoint != "" {
		opts.BaseEndpoint = aws.String(o.Endpoint)
	}
	stsc := sts.New(opts)
	arn := orDefault(c.RoleARN, placeholderRoleARN)
	provider := stscred.NewWebIdentityRoleProvider(stsc, arn, identityToken{ctx: ctx, vault: o.Vault, role: c.IdentityRole},
		func(w *stscred.WebIdentityRoleOptions) {
			w.RoleSessionName = orDefault(o.SessionName, "vigil")
			if c.Duration > 0 {
				w.Duration = c.Duration
			}
		})
	cache := aws.NewCredentialsCache(provider)
	first, err := cache.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("creds: vault_identity_sts role %s: %w", c.IdentityRole, err)
	}
	return &Session{Provider: cache, Expires: first.Expires, Refreshes: true}, nil
}

// identityToken reads identity/oidc/token/ROLE with the run's Vault token;
// the token must belong to an entity (a Nomad workload identity's does).
type identityToken struct {
	ctx   context.Context
	vault Vault
	role  string
}

func (t identityToken) GetIdentityToken() ([]byte, error) {
	s, err := t.vault.ReadWithContext(t.ctx, "identity/oidc/token/"+t.role)
	if err != nil {
		return nil, fmt.Errorf("read identity/oidc/token/%s: %w", t.role, err)
	}
	if s == nil {
		return nil, fmt.Errorf("read identity/oidc/token/%s: no token returned", t.role)
	}
	tok := stringField(s.Data, "token")
	if tok == "" {
		return nil, fmt.Errorf("read identity/oidc/token/%s: no token returned", t.role)
	}
	return []byte(tok), nil
}
