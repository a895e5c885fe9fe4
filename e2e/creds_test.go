//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/creds"
)

func putWith(ctx context.Context, p aws.CredentialsProvider, key string) error {
	_, err := stack.MinIO.Client(p).PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(stack.MinIO.Bucket), Key: aws.String(key), Body: strings.NewReader("x"),
	})
	return err
}

// openCreds opens a credentials session as a run of a spec with one backup
// per storage would, with the Vault policy vigil setup wrote for it.
func openCreds(t *testing.T, ctx context.Context, c config.Credentials, _ string) *creds.Session {
	t.Helper()
	var backups string
	for _, st := range []string{"sts", "kv", "aws", "awssts"} {
		backups += fmt.Sprintf(`
backup "consul_kv" "creds-%s" {
  schedule = "0 * * * *"
  timeout  = "10m"
  storage  = storage.s3.%s
  %s
}
`, st, st, consulSource(t, stack.Consul.URL(), ""))
	}
	specDir(t, backups)
	vc, _ := stack.Vault.Client(entityToken(t, ctx))
	sess, err := creds.Open(ctx, c, creds.Options{
		Vault: vc.Logical(), Endpoint: stack.MinIO.Endpoint(), SessionName: "e2e",
		Probe: func(ctx context.Context, p aws.CredentialsProvider) error {
			_, err := stack.MinIO.Client(p).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(stack.MinIO.Bucket)})
			return err
		},
	})
	if err != nil {
		t.Fatalf("open %s: %v", c.Source, err)
	}
	return sess
}

// closeRevokes closes a session that holds a Vault lease and checks that
// the lease is gone.
func closeRevokes(t *testing.T, ctx context.Context, sess *creds.Session) {
	t.Helper()
	if sess.LeaseID == "" {
		t.Fatal("no lease")
	}
	if err := sess.Close(ctx); err != nil {
		t.Fatal(err)
	}
	root, _ := stack.Vault.Root()
	if _, err := root.Sys().Lookup(sess.LeaseID); err == nil {
		t.Errorf("lease %s still exists after Close", sess.LeaseID)
	}
}

func frozen(t *testing.T, ctx context.Context, p aws.CredentialsProvider) aws.CredentialsProvider {
	t.Helper()
	v, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return credentials.NewStaticCredentialsProvider(v.AccessKeyID, v.SecretAccessKey, v.SessionToken)
}

// TestCredsIdentitySTSExpire: keys from a Vault identity token work, and
// stop working once the identity role's TTL has passed.
func TestCredsIdentitySTSExpire(t *testing.T) {
	needStack(t)
	t.Parallel()
	ctx := testContext(t, 2*time.Minute)
	sess := openCreds(t, ctx, config.Credentials{Source: config.CredVaultIdentitySTS, IdentityRole: harness.OIDCRole}, "vigil-e2e-sts")
	keys := frozen(t, ctx, sess.Provider)
	if err := putWith(ctx, keys, "e2e/creds/sts"); err != nil {
		t.Fatalf("fresh STS keys refused: %v", err)
	}
	if d := time.Until(sess.Expires); d <= 0 || d > harness.OIDCRoleTTL+5*time.Second {
		t.Errorf("keys expire in %s, want within the role TTL %s", d, harness.OIDCRoleTTL)
	}
	time.Sleep(time.Until(sess.Expires) + 5*time.Second)
	if err := putWith(ctx, keys, "e2e/creds/sts-late"); err == nil {
		t.Fatal("STS keys still work after the identity token expired")
	}
	// The session's cache refreshes through Vault, so a long run goes on.
	if err := putWith(ctx, sess.Provider, "e2e/creds/sts-refreshed"); err != nil {
		t.Errorf("refreshed keys refused: %v", err)
	}
}

// TestCredsKV: static keys of a MinIO user, kept in Vault KV v2.
func TestCredsKV(t *testing.T) {
	needStack(t)
	t.Parallel()
	ctx := testContext(t, time.Minute)
	sess := openCreds(t, ctx, config.Credentials{Source: config.CredVaultKV, VaultPath: harness.KVPath}, "vigil-e2e-kv")
	if err := putWith(ctx, sess.Provider, "e2e/creds/kv"); err != nil {
		t.Fatalf("KV keys refused: %v", err)
	}
	if v, _ := sess.Provider.Retrieve(ctx); v.AccessKeyID != stack.KVAccessKey {
		t.Errorf("got a different key than the one stored")
	}
}

// TestCredsAWSLeaseRevoked: keys from aws/creds work until the session
// closes; then the lease is gone and the keys are refused.
func TestCredsAWSLeaseRevoked(t *testing.T) {
	needStack(t)
	t.Parallel()
	ctx := testContext(t, time.Minute)
	sess := openCreds(t, ctx, config.Credentials{Source: config.CredVaultAWS, VaultPath: "aws/creds/" + harness.AWSRole}, "vigil-e2e-aws")
	keys := frozen(t, ctx, sess.Provider)
	if err := putWith(ctx, keys, "e2e/creds/aws"); err != nil {
		t.Fatalf("IAM keys refused: %v", err)
	}
	closeRevokes(t, ctx, sess)
	if err := putWith(ctx, keys, "e2e/creds/aws-late"); err == nil {
		t.Error("IAM keys still work after the lease was revoked")
	}
}

// TestCredsAWSSTS: aws/sts/ROLE yields MinIO's temporary keys (through the
// stand-in's AssumeRole). They carry a session token and work; closing the
// session revokes the lease. Such keys cannot be revoked early, on AWS or
// here: they die at their TTL, the Vault role's default_sts_ttl.
func TestCredsAWSSTS(t *testing.T) {
	needStack(t)
	t.Parallel()
	ctx := testContext(t, time.Minute)
	sess := openCreds(t, ctx, config.Credentials{Source: config.CredVaultAWS, VaultPath: "aws/sts/" + harness.AWSSTSRole}, "vigil-e2e-aws-sts")
	v, err := sess.Provider.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.SessionToken == "" || v.SessionToken != stack.IAM.SessionToken(v.AccessKeyID) {
		t.Fatalf("want the session token MinIO issued for %s", v.AccessKeyID)
	}
	if err := putWith(ctx, sess.Provider, "e2e/creds/aws-sts"); err != nil {
		t.Fatalf("STS keys refused: %v", err)
	}
	if err := putWith(ctx, credentials.NewStaticCredentialsProvider(v.AccessKeyID, v.SecretAccessKey, ""), "e2e/creds/aws-sts-no-token"); err == nil {
		t.Error("the keys work without their session token: they are not temporary")
	}
	if d := time.Until(sess.Expires); d <= harness.AWSSTSTTL-time.Minute || d > harness.AWSSTSTTL+5*time.Second {
		t.Errorf("keys expire in %s, want about %s", d, harness.AWSSTSTTL)
	}
	closeRevokes(t, ctx, sess)
}

// TestCredsExpireBeforeTimeout: keys from aws/sts live 15 minutes and
// cannot be renewed; a backup whose timeout is an hour fails at the start,
// naming both times, instead of failing halfway with expired keys.
func TestCredsExpireBeforeTimeout(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 2*time.Minute)
	seedData(t, ctx)
	name := "creds-outlived"
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "consul_kv" %q {
  schedule = "0 * * * *"
  timeout  = "1h"
  storage  = storage.s3.awssts
  %s
}`, name, consulSource(t, stack.Consul.URL(), "service/")))
	r := vigil(t, entityToken(t, ctx), "run", "-config", dir, "-backup", name)
	if r.code != 1 || !strings.Contains(r.stderr, "expire at") || !strings.Contains(r.stderr, "before the run's timeout ends at") {
		t.Fatalf("a run whose keys expire before its timeout: %s", r)
	}
	if objs, _ := stack.MinIO.List(ctx, prefix+name+"/"); len(objs) != 0 {
		t.Fatalf("it wrote %v", objs)
	}
}
