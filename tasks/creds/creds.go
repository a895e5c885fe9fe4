// Package creds turns a storage's credential source into S3 credentials for
// one run. Keys live in memory only, and every Vault lease a run takes is
// revoked when the run ends, on every path.
package creds

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/hashicorp/go-hclog"
	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
)

// Vault is the part of the Vault API a run uses. *vault.Logical satisfies it.
// Errors are Vault's, which never carry the client token.
type Vault interface {
	ReadWithContext(ctx context.Context, path string) (*vault.Secret, error)
	WriteWithContext(ctx context.Context, path string, data map[string]any) (*vault.Secret, error)
}

var _ Vault = (*vault.Logical)(nil)

// Session is the credentials of one run. Close releases what Open took
// (revokes leases, stops renewals); it is safe to call more than once.
type Session struct {
	Provider aws.CredentialsProvider
	// Expires is when the keys stop working, if known.
	Expires time.Time
	// Refreshes says the keys are renewed or replaced before Expires
	// while the session is open, so Expires does not bound a run.
	Refreshes bool
	// What names the credentials in messages ("the S3 credentials").
	What string
	// LeaseID is the Vault lease behind the keys (vault_aws_path), if any.
	LeaseID string
	// Secrets are the credentials of the system a backup reads
	// (OpenTarget); nil for a storage's session.
	Secrets *plugin.Secrets
	close   func(context.Context) error
	closed  bool
}

// CheckLasts fails when the keys expire before until (the end of a run's
// timeout) and nothing refreshes them: the run would fail halfway, after
// minutes of streaming, with an upload refused for expired keys.
func (s *Session) CheckLasts(until time.Time) error {
	if s == nil || s.Refreshes || s.Expires.IsZero() || !s.Expires.Before(until) {
		return nil
	}
	what := s.What
	if what == "" {
		what = "the S3 credentials"
	}
	return fmt.Errorf("creds: %s expire at %s, before the run's timeout ends at %s; shorten the backup's timeout or give the credentials a longer TTL",
		what, s.Expires.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
}

// Close releases the session. The context should outlive the run's own, so
// that revocation still happens after a cancelled run.
func (s *Session) Close(ctx context.Context) error {
	if s == nil || s.closed || s.close == nil {
		return nil
	}
	s.closed = true
	return s.close(ctx)
}

// Options are what Open needs beyond the spec.
type Options struct {
	// Vault is required for the vault_* sources.
	Vault Vault
	// Endpoint, Region: the S3 endpoint, also used as the STS endpoint of
	// vault_identity_sts when set (MinIO serves STS on the S3 port).
	Endpoint string
	Region   string
	// SessionName names the STS session ("vigil-<backup>").
	SessionName string
	// Probe checks that keys work (a HeadBucket); vault_aws_path retries
	// it while fresh IAM keys propagate.
	Probe func(context.Context, aws.CredentialsProvider) error
	Log   hclog.Logger
}

// ErrNoVault is returned when a vault_* source has no Vault client.
var ErrNoVault = errors.New("no Vault client: set VAULT_ADDR and VAULT_TOKEN (Nomad sets them for a task with a vault block)")

// Open resolves c into credentials.
func Open(ctx context.Context, c config.Credentials, o Options) (*Session, error) {
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	if c.UsesVault() && o.Vault == nil {
		return nil, fmt.Errorf("creds: %s: %w", c.Source, ErrNoVault)
	}
	if err := Preflight(ctx, o.Vault, c.VaultNeeds()); err != nil {
		return nil, fmt.Errorf("creds: %s: %w", c.Source, err)
	}
	switch c.Source {
	case config.CredEnvironment:
		cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(orDefault(o.Region, "us-east-1")))
		if err != nil {
			return nil, fmt.Errorf("creds: environment: %w", err)
		}
		return &Session{Provider: cfg.Credentials}, nil
	case config.CredVaultKV:
		return openKV(ctx, c, o)
	case config.CredVaultAWS:
		return openAWS(ctx, c, o)
	case config.CredVaultIdentitySTS:
		return openIdentitySTS(ctx, c, o)
	}
	return nil, fmt.Errorf("creds: unknown credential source %q", c.Source)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// stringField reads a string from a secret's data without ever formatting
// the value into an error.
func stringField(data map[string]any, names ...string) string {
	for _, n := range names {
		if s, ok := data[n].(string); ok && s != "" {
			return s
		}
	}
	return ""
}
