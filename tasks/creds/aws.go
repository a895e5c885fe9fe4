package creds

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscred "github.com/aws/aws-sdk-go-v2/credentials"
	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// Bounds of the wait for fresh IAM keys to work: IAM is eventually
// consistent, and new keys can be refused for several seconds.
const (
	probeFirstDelay = 500 * time.Millisecond
	probeMaxDelay   = 8 * time.Second
	probeTimeout    = 60 * time.Second
)

// openAWS reads aws/creds/ROLE or aws/sts/ROLE, waits until the keys work,
// renews the lease while the run lasts, and revokes it on Close.
func openAWS(ctx context.Context, c config.Credentials, o Options) (*Session, error) {
	s, err := o.Vault.ReadWithContext(ctx, c.VaultPath)
	if err != nil {
		return nil, fmt.Errorf("creds: vault_aws_path read %s: %w", c.VaultPath, err)
	}
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("creds: vault_aws_path read %s: Vault returned no credentials", c.VaultPath)
	}
	access := stringField(s.Data, "access_key")
	secret := stringField(s.Data, "secret_key")
	token := stringField(s.Data, "security_token", "session_token")
	sess := &Session{}
	holdLease(sess, o, s)
	if access == "" || secret == "" {
		err := fmt.Errorf("creds: vault_aws_path read %s: the secret has no access_key/secret_key", c.VaultPath)
		return nil, joinClose(ctx, sess, err)
	}
	sess.Provider = awscred.NewStaticCredentialsProvider(access, secret, token)
	if o.Probe != nil {
		if err := waitUsable(ctx, o, sess.Provider); err != nil {
			return nil, joinClose(ctx, sess, fmt.Errorf("creds: vault_aws_path %s: keys never worked: %w", c.VaultPath, err))
		}
	}
	return sess, nil
}

// joinClose closes a half-opened session so its lease does not outlive the
// failure, and reports both errors.
func joinClose(ctx context.Context, s *Session, err error) error {
	if cerr := s.Close(ctx); cerr != nil {
		return fmt.Errorf("%w (and releasing the credentials failed: %v)", err, cerr)
	}
	return err
}

func waitUsable(ctx context.Context, o Options, p aws.CredentialsProvider) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	delay := probeFirstDelay
	for attempt := 1; ; attempt++ {
		err := o.Probe(ctx, p)
		if err == nil {
			return nil
		}
		if !retryableAuth(err) {
			return err
		}
		o.Log.Debug("new keys not accepted yet, retrying", "attempt", attempt, "wait", delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %d attempts: %w", attempt, err)
		case <-time.After(delay):
		}
		delay = min(delay*2, probeMaxDelay)
	}
}

// retryableAuth recognises the answers S3 gives to keys IAM has not
// propagated yet.
func retryableAuth(err error) bool {
	msg := err.Error()
	for _, code := range []string{"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Forbidden", "403"} {
		if strings.Contains(msg, code) {
			return true
		}
	}
	return false
}

// renewLoop renews the lease at two thirds of its duration until stopped.
// It uses the path form sys/leases/renew/<lease>, so a policy can grant
// renewal of aws/* leases only.
func renewLoop(ctx context.Context, o Options, leaseID string, d time.Duration, done chan struct{}) {
	defer close(done)
	for {
		wait := d * 2 / 3
		if wait < time.Second {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		s, err := o.Vault.WriteWithContext(ctx, "sys/leases/renew/"+leaseID, map[string]any{"increment": int(d.Seconds())})
		if err != nil {
			o.Log.Warn("lease renewal failed; the keys expire at the lease end", "lease_id", leaseID, "error", err)
			return
		}
		if s != nil && s.LeaseDuration > 0 {
			d = time.Duration(s.LeaseDuration) * time.Second
		}
	}
}

// holdLease keeps a secret's lease for the session: renewed while the
// session is open when Vault lets it be, revoked when it closes.
func holdLease(sess *Session, o Options, s *vault.Secret) {
	d := time.Duration(s.LeaseDuration) * time.Second
	sess.LeaseID = s.LeaseID
	if d > 0 {
		sess.Expires = time.Now().Add(d)
	}
	renewCtx, stopRenew := context.WithCancel(context.Background())
	renewDone := make(chan struct{})
	if s.Renewable && s.LeaseID != "" {
		sess.Refreshes = true
		go renewLoop(renewCtx, o, s.LeaseID, d, renewDone)
	} else {
		close(renewDone)
	}
	sess.close = func(ctx context.Context) error {
		stopRenew()
		<-renewDone
		return revoke(ctx, o, s.LeaseID)
	}
}

// revoke ends the lease at once (path form sys/leases/revoke/<lease>).
func revoke(ctx context.Context, o Options, leaseID string) error {
	if leaseID == "" {
		return nil
	}
	if _, err := o.Vault.WriteWithContext(ctx, "sys/leases/revoke/"+leaseID, nil); err != nil {
		return fmt.Errorf("creds: revoke lease %s: %w", leaseID, err)
	}
	o.Log.Info("revoked the run's credentials lease", "lease_id", leaseID)
	return nil
}
