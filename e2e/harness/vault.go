package harness

import (
	"context"
	"fmt"
	"github.com/vigil-backup/vigil/plugin/scratch"
	"os"
	"path/filepath"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// Vault dev-server settings the harness configures.
const (
	VaultRootToken = "root"
	// OIDCRole is the identity token role MinIO trusts (client_id "minio").
	OIDCRole = "minio"
	// OIDCRoleTTL bounds the life of the S3 keys that vault_identity_sts
	// yields: MinIO ends them when the identity token expires.
	OIDCRoleTTL = 30 * time.Second
	// KVPath holds a MinIO user's static keys (vault_kv_path).
	KVPath = "secret/data/vigil/s3"
	// AWSRole issues IAM-user keys through the stand-in (vault_aws_path).
	AWSRole = "backup"
	// AWSSTSRole issues MinIO's temporary keys through the stand-in's
	// AssumeRole (vault_aws_path = "aws/sts/..."); they live AWSSTSTTL.
	AWSSTSRole = "backup-sts"
	AWSSTSTTL  = 15 * time.Minute
	// RunPolicy is what a backup run may read; the Nomad JWT role and the
	// token role both carry it.
	RunPolicy = "vigil-run"
	// NomadJWTRole is the role `nomad setup vault` would create.
	NomadJWTRole = "nomad-workloads"
	// TokenRole mints tokens with an entity for runs outside Nomad.
	TokenRole = "vigil"
)

const runPolicyHCL = `
path "identity/oidc/token/minio" { capabilities = ["read"] }
path "secret/data/vigil/*"       { capabilities = ["read"] }
path "aws/creds/*"               { capabilities = ["read"] }
path "aws/sts/*"                 { capabilities = ["read", "update"] }
path "sys/leases/renew/aws/*"    { capabilities = ["update"] }
path "sys/leases/revoke/aws/*"   { capabilities = ["update"] }
`

// Vault is a dev server on loopback.
type Vault struct {
	Proc *scratch.Proc
	Addr string
}

// URL is the API base URL.
func (v *Vault) URL() string { return "http://" + v.Addr }

// StartVault starts `vault server -dev` with the root token "root".
func StartVault(ctx context.Context, dir string) (*Vault, error) {
	bin, err := Tool("vault")
	if err != nil {
		return nil, err
	}
	port, err := scratch.FreePort()
	if err != nil {
		return nil, err
	}
	d := filepath.Join(dir, "vault")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, err
	}
	v := &Vault{Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	// HOME points at the data dir so the dev server's ~/.vault-token write
	// never touches the operator's file.
	env := scratch.ServerEnv("HOME=" + d)
	v.Proc, err = scratch.StartProc("vault", d, env, bin, "server", "-dev",
		"-dev-listen-address="+v.Addr, "-dev-root-token-id="+VaultRootToken, "-log-level=warn")
	if err != nil {
		return nil, err
	}
	if err := scratch.WaitHTTP(ctx, v.Proc, v.URL()+"/v1/sys/health", 30*time.Second, scratch.Status200); err != nil {
		v.Stop()
		return nil, err
	}
	return v, nil
}

// Client returns an API client with the given token.
func (v *Vault) Client(token string) (*vault.Client, error) {
	cfg := vault.DefaultConfig()
	cfg.Address = v.URL()
	c, err := vault.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	return c, nil
}

// Root returns a root client.
func (v *Vault) Root() (*vault.Client, error) { return v.Client(VaultRootToken) }

// Stop ends the server.
func (v *Vault) Stop() {
	if v != nil {
		v.Proc.Stop(10 * time.Second)
	}
}

// Configure sets up everything the credential sources need except the
// Nomad JWT auth method (that needs Nomad's address): the OIDC provider
// MinIO trusts, the run policy, the token role, and the AWS engine pointed at
// iamEndpoint (the stand-in) when it is not empty.
func (v *Vault) Configure(ctx context.Context, iamEndpoint string) error {
	c, err := v.Root()
	if err != nil {
		return err
	}
	steps := []struct {
		path string
		data map[string]any
	}{
		{"identity/oidc/config", map[string]any{"issuer": v.URL()}},
		{"identity/oidc/key/minio-key", map[string]any{"algorithm": "RS256", "allowed_client_ids": "minio", "verification_ttl": "2h", "rotation_period": "24h"}},
		{"identity/oidc/role/" + OIDCRole, map[string]any{"key": "minio-key", "client_id": "minio", "ttl": OIDCRoleTTL.String(), "template": `{"policy":"readwrite"}`}},
		{"auth/token/roles/" + TokenRole, map[string]any{"allowed_policies": RunPolicy, "allowed_entity_aliases": "vigil-*", "orphan": true}},
	}
	if err := c.Sys().PutPolicyWithContext(ctx, RunPolicy, runPolicyHCL); err != nil {
		return fmt.Errorf("harness: vault policy: %w", err)
	}
	for _, s := range steps {
		if _, err := c.Logical().WriteWithContext(ctx, s.path, s.data); err != nil {
			return fmt.Errorf("harness: vault write %s: %w", s.path, err)
		}
	}
	if iamEndpoint == "" {
		return nil
	}
	if err := c.Sys().MountWithContext(ctx, "aws", &vault.MountInput{Type: "aws"}); err != nil {
		return fmt.Errorf("harness: vault mount aws: %w", err)
	}
	aws := []struct {
		path string
		data map[string]any
	}{
		// The stand-in ignores these keys; Vault needs some to sign with.
		{"aws/config/root", map[string]any{"access_key": "standin", "secret_key": "standin", "region": "us-east-1",
			"iam_endpoint": iamEndpoint, "sts_endpoint": iamEndpoint, "max_retries": 0}},
		{"aws/config/lease", map[string]any{"lease": "10m", "lease_max": "1h"}},
		{"aws/roles/" + AWSRole, map[string]any{"credential_type": "iam_user",
			"policy_document": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`}},
		{"aws/roles/" + AWSSTSRole, map[string]any{"credential_type": "assumed_role",
			"role_arns":       []string{"arn:aws:iam::000000000000:role/vigil-backup"},
			"default_sts_ttl": int(AWSSTSTTL.Seconds()), "max_sts_ttl": int(AWSSTSTTL.Seconds())}},
	}
	for _, s := range aws {
		if _, err := c.Logical().WriteWithContext(ctx, s.path, s.data); err != nil {
			return fmt.Errorf("harness: vault write %s: %w", s.path, err)
		}
	}
	return nil
}

// PutKVKeys stores S3 keys at KVPath.
func (v *Vault) PutKVKeys(ctx context.Context, access, secret string) error {
	c, err := v.Root()
	if err != nil {
		return err
	}
	_, err = c.Logical().WriteWithContext(ctx, KVPath, map[string]any{
		"data": map[string]any{"access_key_id": access, "secret_access_key": secret},
	})
	return err
}

// ConfigureNomadJWT does what `nomad setup vault` does: a JWT auth method
// trusting Nomad's JWKS, and the role tasks log in with.
func (v *Vault) ConfigureNomadJWT(ctx context.Context, nomadURL string) error {
	c, err := v.Root()
	if err != nil {
		return err
	}
	if err := c.Sys().EnableAuthWithOptionsWithContext(ctx, "jwt-nomad", &vault.EnableAuthOptions{Type: "jwt"}); err != nil {
		return fmt.Errorf("harness: vault enable jwt: %w", err)
	}
	writes := []struct {
		path string
		data map[string]any
	}{
		{"auth/jwt-nomad/config", map[string]any{
			"jwks_url": nomadURL + "/.well-known/jwks.json", "jwt_supported_algs": []string{"RS256", "EdDSA"}, "default_role": NomadJWTRole,
		}},
		{"auth/jwt-nomad/role/" + NomadJWTRole, map[string]any{
			"role_type":               "jwt",
			"bound_audiences":         []string{"vault.io"},
			"user_claim":              "/nomad_job_id",
			"user_claim_json_pointer": true,
			"claim_mappings":          map[string]string{"nomad_namespace": "nomad_namespace", "nomad_job_id": "nomad_job_id", "nomad_task": "nomad_task"},
			"token_type":              "service",
			"token_policies":          []string{RunPolicy},
			"token_period":            "30m",
			"token_explicit_max_ttl":  0,
		}},
	}
	for _, w := range writes {
		if _, err := c.Logical().WriteWithContext(ctx, w.path, w.data); err != nil {
			return fmt.Errorf("harness: vault write %s: %w", w.path, err)
		}
	}
	return nil
}

// EntityToken mints a token with an entity (needed for identity tokens)
// through the token role, as a service outside Nomad would hold.
func (v *Vault) EntityToken(ctx context.Context, alias string, ttl time.Duration) (string, error) {
	c, err := v.Root()
	if err != nil {
		return "", err
	}
	s, err := c.Auth().Token().CreateWithRoleWithContext(ctx, &vault.TokenCreateRequest{
		Policies: []string{RunPolicy}, TTL: ttl.String(), EntityAlias: alias,
	}, TokenRole)
	if err != nil {
		return "", fmt.Errorf("harness: vault token: %w", err)
	}
	return s.Auth.ClientToken, nil
}
