package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/plugin/scratch"

	vault "github.com/hashicorp/vault/api"
)

// Vault settings the harness configures.
const (
	// OIDCRole is the identity token role MinIO trusts (client_id "minio").
	OIDCRole = "minio"
	// OIDCRoleTTL bounds the life of the S3 keys that vault_identity_sts
	// yields: MinIO ends them when the identity token expires.
	OIDCRoleTTL = 30 * time.Second
	// KVPath holds a MinIO user's static keys (vault_kv_path).
	KVPath = "secret/data/vigil/s3"
	// ESKVPath holds the Elasticsearch user of the fake cluster.
	ESKVPath = "secret/data/vigil/elasticsearch"
	// ESKeyKVPath holds an API key of the fake cluster.
	ESKeyKVPath = "secret/data/vigil/elasticsearch-key"
	// AWSRole issues IAM-user keys through the stand-in (vault_aws_path).
	AWSRole = "backup"
	// AWSSTSRole issues MinIO's temporary keys through the stand-in's
	// AssumeRole (vault_aws_path = "aws/sts/..."); they live AWSSTSTTL.
	AWSSTSRole = "backup-sts"
	AWSSTSTTL  = 15 * time.Minute
	// ConsulRoleSnapshot and ConsulRoleKV are the Consul secrets engine's
	// roles (vault_consul_path = "consul/creds/..."); vigil setup writes
	// their policies.
	ConsulRoleSnapshot = "vigil-snapshot"
	ConsulRoleKV       = "vigil-kv"
	// PKIRole issues etcd client certificates (vault_pki_path).
	PKIRole = "vigil-etcd"
	// NomadJWTMount is the auth mount `nomad setup vault` makes; vigil
	// setup writes a role per configuration on it.
	NomadJWTMount = "jwt-nomad"
	// TokenRole mints tokens with an entity for runs outside Nomad, with
	// the policies vigil setup writes (vigil-*).
	TokenRole = "vigil"
	// TransitKey wraps encrypted backups' data keys (and HMACs their
	// manifests); TransitSignKey is an ed25519 key for signatures.
	TransitKey     = "vigil-backups"
	TransitSignKey = "vigil-manifests"
)

// Vault is a Vault server on loopback. With Security it runs as
// production does: integrated storage (raft) from a config file, a TLS
// listener, initialised and unsealed by the harness, whose root token and
// unseal key only the harness holds (UnsealKeysFile is what a Vault drill
// is given); in the open lab it is `vault server -dev`.
type Vault struct {
	Proc      *scratch.Proc
	Addr      string
	Sec       *Security
	RootToken string
	// UnsealKeysFile holds the unseal key as `vault operator init
	// -format=json` prints it (secure stack only).
	UnsealKeysFile string
	// Dir is the server's folder.
	Dir string
}

// URL is the API base URL.
func (v *Vault) URL() string { return v.Sec.scheme() + "://" + v.Addr }

// StartVault starts a server and leaves it unsealed with secret/ as KV v2.
func StartVault(ctx context.Context, dir string, sec *Security) (*Vault, error) {
	bin, err := Tool("vault")
	if err != nil {
		return nil, err
	}
	d, err := os.MkdirTemp(dir, "vault-")
	if err != nil {
		return nil, err
	}
	v := &Vault{Sec: sec, Dir: d}
	if sec != nil {
		var api string
		v.Proc, api, err = scratch.VaultRaft(ctx, bin, d, "vault", scratch.VaultOptions{
			CertFile: sec.Server.CertFile, KeyFile: sec.Server.KeyFile, Client: sec.HTTPClient()})
		if err != nil {
			return nil, err
		}
		v.Addr = strings.TrimPrefix(api, "https://")
		if err := v.initialise(ctx); err != nil {
			v.Stop()
			return nil, err
		}
		return v, nil
	}
	port, err := scratch.FreePort()
	if err != nil {
		return nil, err
	}
	v.Addr, v.RootToken = fmt.Sprintf("127.0.0.1:%d", port), "root"
	// HOME points at the data dir so a ~/.vault-token write never touches
	// the operator's file.
	v.Proc, err = scratch.StartProc("vault", d, scratch.ServerEnv("HOME="+d), bin, "server", "-dev",
		"-dev-listen-address="+v.Addr, "-dev-root-token-id="+v.RootToken, "-log-level=warn")
	if err != nil {
		return nil, err
	}
	if err := scratch.WaitHTTPWith(ctx, sec.HTTPClient(), v.Proc, v.URL()+"/v1/sys/health", 30*time.Second, scratch.Status200); err != nil {
		v.Stop()
		return nil, err
	}
	return v, nil
}

// initialise inits with one key share, unseals, keeps the key where a
// drill can be pointed at it, and mounts secret/ as KV v2, as dev mode
// would have.
func (v *Vault) initialise(ctx context.Context) error {
	c, err := v.Client("")
	if err != nil {
		return err
	}
	init, err := plugin.InitVault(ctx, c, false)
	if err != nil {
		return fmt.Errorf("harness: %w", err)
	}
	v.RootToken = init.RootToken
	b, _ := json.Marshal(map[string]any{"unseal_keys_b64": init.KeysB64})
	v.UnsealKeysFile = filepath.Join(v.Dir, "init.json")
	if err := os.WriteFile(v.UnsealKeysFile, b, 0o600); err != nil {
		return err
	}
	root, _ := v.Root()
	return root.Sys().MountWithContext(ctx, "secret", &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}})
}

// Client returns an API client with the given token.
func (v *Vault) Client(token string) (*vault.Client, error) {
	cfg := vault.DefaultConfig()
	cfg.Address = v.URL()
	if v.Sec != nil {
		if err := cfg.ConfigureTLS(&vault.TLSConfig{CACert: v.Sec.CA.File}); err != nil {
			return nil, err
		}
	}
	c, err := vault.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	return c, nil
}

// Root returns a root client.
func (v *Vault) Root() (*vault.Client, error) { return v.Client(v.RootToken) }

// Stop ends the server.
func (v *Vault) Stop() {
	if v != nil {
		v.Proc.Stop(10 * time.Second)
	}
}

// Configure sets up what the credential sources stand on, the way an
// operator's Vault would have it before `vigil setup`: the OIDC provider
// MinIO trusts, a token role minting entity tokens for runs outside Nomad
// (policies vigil-*), the AWS engine pointed at iamEndpoint (the stand-in),
// the Consul secrets engine over the control Consul, and the PKI engine
// with the harness CA as its issuer. The policies and roles a vigil
// configuration needs are vigil setup's to write.
func (v *Vault) Configure(ctx context.Context, iamEndpoint string, c *Consul) error {
	root, err := v.Root()
	if err != nil {
		return err
	}
	writes := []vaultWrite{
		{"identity/oidc/config", map[string]any{"issuer": v.URL()}},
		{"identity/oidc/key/minio-key", map[string]any{"algorithm": "RS256", "allowed_client_ids": "minio", "verification_ttl": "2h", "rotation_period": "24h"}},
		{"identity/oidc/role/" + OIDCRole, map[string]any{"key": "minio-key", "client_id": "minio", "ttl": OIDCRoleTTL.String(), "template": `{"policy":"readwrite"}`}},
		{"auth/token/roles/" + TokenRole, map[string]any{"allowed_policies_glob": []string{"vigil-*"}, "allowed_entity_aliases": "vigil-*", "orphan": true}},
	}
	if err := v.write(ctx, root, writes); err != nil {
		return err
	}
	if iamEndpoint != "" {
		if err := root.Sys().MountWithContext(ctx, "aws", &vault.MountInput{Type: "aws"}); err != nil {
			return fmt.Errorf("harness: vault mount aws: %w", err)
		}
		err := v.write(ctx, root, []vaultWrite{
			// The stand-in ignores these keys; Vault needs some to sign with.
			{"aws/config/root", map[string]any{"access_key": "standin", "secret_key": "standin", "region": "us-east-1",
				"iam_endpoint": iamEndpoint, "sts_endpoint": iamEndpoint, "max_retries": 0}},
			{"aws/config/lease", map[string]any{"lease": "10m", "lease_max": "1h"}},
			{"aws/roles/" + AWSRole, map[string]any{"credential_type": "iam_user",
				"policy_document": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`}},
			{"aws/roles/" + AWSSTSRole, map[string]any{"credential_type": "assumed_role",
				"role_arns":       []string{"arn:aws:iam::000000000000:role/vigil-backup"},
				"default_sts_ttl": int(AWSSTSTTL.Seconds()), "max_sts_ttl": int(AWSSTSTTL.Seconds())}},
		})
		if err != nil {
			return err
		}
	}
	if v.Sec == nil || c == nil {
		return nil
	}
	for _, m := range []string{"consul", "pki", "transit"} {
		if err := root.Sys().MountWithContext(ctx, m, &vault.MountInput{Type: m, Config: vault.MountConfigInput{MaxLeaseTTL: "24h"}}); err != nil {
			return fmt.Errorf("harness: vault mount %s: %w", m, err)
		}
	}
	return v.write(ctx, root, []vaultWrite{
		// Vault's own token on Consul may write ACL tokens; in production
		// a token with acl = "write", here the harness's management one.
		{"consul/config/access", map[string]any{"address": c.Addr, "scheme": "https", "ca_cert": string(v.Sec.CA.CertPEM), "token": c.Management}},
		{"pki/config/ca", map[string]any{"pem_bundle": string(v.Sec.CA.CertPEM) + string(v.Sec.CA.KeyPEM)}},
		{"pki/config/urls", map[string]any{"crl_distribution_points": []string{v.URL() + "/v1/pki/crl"}}},
		// Transit keys encrypted backups use: the data keys' and HMACs',
		// and an ed25519 key manifests may be signed with.
		{"transit/keys/" + TransitKey, map[string]any{"type": "aes256-gcm96"}},
		{"transit/keys/" + TransitSignKey, map[string]any{"type": "ed25519"}},
	})
}

type vaultWrite struct {
	path string
	data map[string]any
}

func (v *Vault) write(ctx context.Context, c *vault.Client, ws []vaultWrite) error {
	for _, w := range ws {
		if _, err := c.Logical().WriteWithContext(ctx, w.path, w.data); err != nil {
			return fmt.Errorf("harness: vault write %s: %w", w.path, err)
		}
	}
	return nil
}

// PutKV stores data at a KV v2 path.
func (v *Vault) PutKV(ctx context.Context, path string, data map[string]any) error {
	c, err := v.Root()
	if err != nil {
		return err
	}
	_, err = c.Logical().WriteWithContext(ctx, path, map[string]any{"data": data})
	return err
}

// ConfigureNomadJWT does what `nomad setup vault` does: a JWT auth method
// trusting Nomad's signing keys. Nomad asks every HTTPS client for a
// certificate, which Vault's JWKS fetch cannot give, so the keys are given
// to Vault as they are (jwt_validation_pubkeys), as with any such setup.
func (v *Vault) ConfigureNomadJWT(ctx context.Context, n *Nomad) error {
	c, err := v.Root()
	if err != nil {
		return err
	}
	if err := c.Sys().EnableAuthWithOptionsWithContext(ctx, NomadJWTMount, &vault.EnableAuthOptions{Type: "jwt"}); err != nil {
		return fmt.Errorf("harness: vault enable jwt: %w", err)
	}
	conf := map[string]any{"jwt_supported_algs": []string{"RS256", "EdDSA", "ES256"}}
	if v.Sec == nil {
		conf["jwks_url"] = n.URL() + "/.well-known/jwks.json"
	} else {
		keys, err := n.PublicKeys(ctx)
		if err != nil {
			return err
		}
		conf["jwt_validation_pubkeys"] = keys
	}
	if _, err := c.Logical().WriteWithContext(ctx, "auth/"+NomadJWTMount+"/config", conf); err != nil {
		return fmt.Errorf("harness: vault write jwt config: %w", err)
	}
	return nil
}

// EntityToken mints a token with an entity (needed for identity tokens)
// through the token role, carrying the given vigil-* policies, as a
// service outside Nomad would hold.
func (v *Vault) EntityToken(ctx context.Context, alias string, ttl time.Duration, policies ...string) (string, error) {
	c, err := v.Root()
	if err != nil {
		return "", err
	}
	s, err := c.Auth().Token().CreateWithRoleWithContext(ctx, &vault.TokenCreateRequest{
		Policies: policies, TTL: ttl.String(), EntityAlias: alias,
	}, TokenRole)
	if err != nil {
		return "", fmt.Errorf("harness: vault token: %w", err)
	}
	return s.Auth.ClientToken, nil
}

// ConfigureNomadEngine mounts Vault's Nomad secrets engine over the
// harness's Nomad (secure stack only): Vault holds a management token of
// its own, as with the Consul engine, and issues the runs' Nomad tokens
// under roles vigil setup writes.
func (v *Vault) ConfigureNomadEngine(ctx context.Context, n *Nomad) error {
	if v.Sec == nil {
		return nil
	}
	c, err := v.Root()
	if err != nil {
		return err
	}
	if err := c.Sys().MountWithContext(ctx, "nomad", &vault.MountInput{Type: "nomad", Config: vault.MountConfigInput{MaxLeaseTTL: "24h"}}); err != nil {
		return fmt.Errorf("harness: vault mount nomad: %w", err)
	}
	return v.write(ctx, c, []vaultWrite{
		{"nomad/config/access", map[string]any{"address": n.URL(), "token": n.Management,
			"ca_cert": string(v.Sec.CA.CertPEM), "client_cert": string(v.Sec.Admin.CertPEM), "client_key": string(v.Sec.Admin.KeyPEM)}},
		{"nomad/config/lease", map[string]any{"ttl": "1h", "max_ttl": "24h"}},
	})
}
