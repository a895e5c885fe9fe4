package harness

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-backup/vigil/plugin/scratch"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscred "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/madmin-go/v3"
	s3store "github.com/vigil-backup/vigil/tasks/store/s3"
)

// MinIO root credentials of the harness server. They exist only on loopback
// for the life of a test run.
const (
	MinIORootUser     = "harness-root"
	MinIORootPassword = "harness-root-password"
	Bucket            = "vigil"
)

// MinIO is one MinIO server with one bucket; with Security it serves
// HTTPS and trusts the CA (for Vault's OpenID discovery document).
type MinIO struct {
	Proc    *scratch.Proc
	Addr    string
	DataDir string
	Bucket  string
	Sec     *Security
	// start runs the server and waits for it, under the caller's context
	// (not the harness's start-up one, long expired when a test restarts it).
	start func(ctx context.Context) (*scratch.Proc, error)
}

// Endpoint is the S3 base URL.
func (m *MinIO) Endpoint() string { return m.Sec.scheme() + "://" + m.Addr }

// StartMinIO starts MinIO trusting oidcConfigURL (Vault's OpenID discovery
// document) for AssumeRoleWithWebIdentity; empty disables OpenID.
func StartMinIO(ctx context.Context, dir, oidcConfigURL string, sec *Security) (*MinIO, error) {
	bin, err := Tool("minio")
	if err != nil {
		return nil, err
	}
	ports, err := scratch.FreePorts(2)
	if err != nil {
		return nil, err
	}
	m := &MinIO{Addr: fmt.Sprintf("127.0.0.1:%d", ports[0]), DataDir: filepath.Join(dir, "minio-data"), Bucket: Bucket, Sec: sec}
	if err := os.MkdirAll(m.DataDir, 0o755); err != nil {
		return nil, err
	}
	var certsArgs []string
	if sec != nil {
		// MinIO reads public.crt and private.key, and trusts CAs/*.
		certs := filepath.Join(dir, "minio-certs")
		if err := os.MkdirAll(filepath.Join(certs, "CAs"), 0o700); err != nil {
			return nil, err
		}
		for dst, src := range map[string][]byte{"public.crt": sec.Server.CertPEM, "private.key": sec.Server.KeyPEM, "CAs/ca.crt": sec.CA.CertPEM} {
			if err := os.WriteFile(filepath.Join(certs, dst), src, 0o600); err != nil {
				return nil, err
			}
		}
		certsArgs = []string{"--certs-dir", certs}
	}
	env := scratch.ServerEnv(
		"MINIO_ROOT_USER="+MinIORootUser,
		"MINIO_ROOT_PASSWORD="+MinIORootPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		// A static KMS key, so SSE-S3 (sse = "AES256" in specs) works as on AWS.
		"MINIO_KMS_SECRET_KEY=harness-key:"+base64.StdEncoding.EncodeToString([]byte("vigil-harness-kms-key-32-bytes!!")),
	)
	if oidcConfigURL != "" {
		env = append(env,
			"MINIO_IDENTITY_OPENID_CONFIG_URL="+oidcConfigURL,
			"MINIO_IDENTITY_OPENID_CLIENT_ID=minio",
			"MINIO_IDENTITY_OPENID_CLAIM_NAME=policy",
		)
	}
	m.start = func(ctx context.Context) (*scratch.Proc, error) {
		args := append([]string{"server", "--quiet", "--address", m.Addr, "--console-address", fmt.Sprintf("127.0.0.1:%d", ports[1])}, certsArgs...)
		p, err := scratch.StartProc("minio", dir, env, bin, append(args, m.DataDir)...)
		if err != nil {
			return nil, err
		}
		if err := scratch.WaitHTTPWith(ctx, sec.HTTPClient(), p, m.Endpoint()+"/minio/health/live", 60*time.Second, scratch.Status200); err != nil {
			p.Stop(5 * time.Second)
			return nil, err
		}
		return p, nil
	}
	if m.Proc, err = m.start(ctx); err != nil {
		return nil, err
	}
	if err := m.createBucket(ctx); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// Restart starts a stopped server again on the same address and data.
func (m *MinIO) Restart(ctx context.Context) error {
	p, err := m.start(ctx)
	if err != nil {
		return err
	}
	m.Proc = p
	return nil
}

// RootClient is an S3 client with the root credentials.
func (m *MinIO) RootClient() *s3.Client {
	return m.Client(awscred.NewStaticCredentialsProvider(MinIORootUser, MinIORootPassword, ""))
}

// Client is an S3 client with the given credentials, built the way vigil
// builds its own (trusting the CA, as vigil does through AWS_CA_BUNDLE).
func (m *MinIO) Client(creds aws.CredentialsProvider) *s3.Client {
	return s3store.NewClientWithCA(s3store.Endpoint{Endpoint: m.Endpoint(), Region: "us-east-1", PathStyle: true}, creds, m.caFile())
}

func (m *MinIO) caFile() string {
	if m.Sec == nil {
		return ""
	}
	return m.Sec.CA.File
}

// Admin is a MinIO admin API client.
func (m *MinIO) Admin() (*madmin.AdminClient, error) {
	adm, err := madmin.New(m.Addr, MinIORootUser, MinIORootPassword, m.Sec != nil)
	if err != nil {
		return nil, err
	}
	if m.Sec != nil {
		adm.SetCustomTransport(&http.Transport{TLSClientConfig: m.Sec.CA.ClientTLS(nil)})
	}
	return adm, nil
}

// AddUser creates a MinIO user with the readwrite policy.
func (m *MinIO) AddUser(ctx context.Context, access, secret string) error {
	adm, err := m.Admin()
	if err != nil {
		return err
	}
	if err := adm.AddUser(ctx, access, secret); err != nil {
		return fmt.Errorf("harness: minio add user: %w", err)
	}
	if _, err := adm.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{"readwrite"}, User: access}); err != nil {
		return fmt.Errorf("harness: minio attach policy: %w", err)
	}
	return nil
}

// RemoveUser deletes a MinIO user; its keys stop working at once.
func (m *MinIO) RemoveUser(ctx context.Context, access string) error {
	adm, err := m.Admin()
	if err != nil {
		return err
	}
	return adm.RemoveUser(ctx, access)
}

// createBucket makes the bucket with Object Lock enabled (which S3 and
// MinIO allow only at creation, and which turns versioning on): storages
// with object_lock lock what they write in it; others write as usual.
func (m *MinIO) createBucket(ctx context.Context) error {
	_, err := m.RootClient().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(m.Bucket), ObjectLockEnabledForBucket: aws.Bool(true)})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("harness: create bucket: %w", err)
	}
	return nil
}

// UsePlainBucket replaces the (empty) bucket with one without Object
// Lock, so without versions: the bench overwrites the same keys for every
// run, and a versioned bucket would keep every copy until the disk fills.
func (m *MinIO) UsePlainBucket(ctx context.Context) error {
	c := m.RootClient()
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(m.Bucket)}); err != nil {
		return fmt.Errorf("harness: delete bucket: %w", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(m.Bucket)}); err != nil {
		return fmt.Errorf("harness: create bucket: %w", err)
	}
	return nil
}

// Object is one listed object.
type Object struct {
	Key  string
	Size int64
}

// List returns the objects under prefix, following pagination.
func (m *MinIO) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	p := s3.NewListObjectsV2Paginator(m.RootClient(), &s3.ListObjectsV2Input{Bucket: aws.String(m.Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			out = append(out, Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)})
		}
	}
	return out, nil
}

// Stop ends the server.
func (m *MinIO) Stop() {
	if m != nil {
		m.Proc.Stop(10 * time.Second)
	}
}
