package tasks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/go-hclog"
	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/creds"
	"github.com/vigil-backup/vigil/tasks/lock"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store"
	"github.com/vigil-backup/vigil/tasks/store/azure"
	"github.com/vigil-backup/vigil/tasks/store/gcs"
	"github.com/vigil-backup/vigil/tasks/store/local"
	s3store "github.com/vigil-backup/vigil/tasks/store/s3"
)

// Deps are the clients a run uses. NewDeps builds them from the config and
// the environment; tests may replace any of them.
type Deps struct {
	Log     hclog.Logger
	Version string
	Now     func() time.Time
	// Locker and Book are on the control Consul, or nil in standalone mode
	// (a file lock and records in the store are used then).
	Locker lock.Locker
	Book   record.Book
	// Keep is how many past runs the records keep (the spec's
	// consul { run_history }).
	Keep int
	// Vault is nil when VAULT_ADDR is not set.
	Vault creds.Vault
	// Target returns the system a backup reads; nil means plugin.New.
	Target func(b *config.Backup, to string) (plugin.Target, error)
	// Store, when set, is the store of every backup (tests); Stores, the
	// store of each storage by name, over Store.
	Store  store.Store
	Stores map[string]store.Store
	// Finished, when set, hears of every run that ends (backups, drills,
	// skips): telemetry.
	Finished func(*record.Run)
	// FanOut, when set, hears before a stream to several stores what
	// their buffers hold beyond the largest one's (store.PutBuffers), so
	// the process can grow its soft memory limit by it.
	FanOut func(extra int64)
}

// NewDeps connects to the control Consul (unless the config is
// standalone) and to Vault (when the spec or VAULT_ADDR names it). The
// Vault token comes from VAULT_TOKEN, which Nomad's workload identity sets
// in the task.
func NewDeps(cfg *config.Config, log hclog.Logger, version string) (*Deps, error) {
	d := &Deps{Log: log, Version: version, Now: time.Now, Keep: cfg.Consul.RunHistory}
	if cfg.Consul.Enabled {
		c, err := plugin.ControlClient(cfg.Consul)
		if err != nil {
			return nil, err
		}
		d.Locker = &lock.Consul{Client: c}
		d.Book = &record.Consul{Client: c, Keep: d.Keep}
	}
	if cfg.Vault.Address != "" || os.Getenv("VAULT_ADDR") != "" {
		vc, err := VaultClient(cfg.Vault)
		if err != nil {
			return nil, err
		}
		d.Vault = vc.Logical()
	}
	return d, nil
}

// VaultClient starts from the environment (VAULT_ADDR, VAULT_TOKEN,
// VAULT_CACERT, VAULT_CAPATH, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY,
// VAULT_TLS_SERVER_NAME, VAULT_NAMESPACE) as the vault CLI does; the
// spec's vault block fills in what they leave unset (plugin.EnvOverSpec).
func VaultClient(v config.Vault) (*vault.Client, error) {
	cfg, err := plugin.VaultConfig(v.Address, v.TLS, plugin.EnvOverSpec)
	if err != nil {
		return nil, err
	}
	c, err := vault.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault: client: %w", err)
	}
	if v.Namespace != "" && os.Getenv(vault.EnvVaultNamespace) == "" {
		c.SetNamespace(v.Namespace)
	}
	return c, nil
}

// TargetFor returns the target of a backup; to replaces its address, and
// sec, when set, are the run's own credentials for it.
func (d *Deps) TargetFor(b *config.Backup, to string, sec *plugin.Secrets) (plugin.Target, error) {
	if d.Target != nil {
		return d.Target(b, to)
	}
	return plugin.New(b, to, sec)
}

// OpenTarget gets the run's credentials for the system b reads (valid for
// at least ttl) and returns the target with them. The session must be
// closed when the run ends: it revokes what Vault issued.
func (d *Deps) OpenTarget(ctx context.Context, b *config.Backup, ttl time.Duration) (plugin.Target, *creds.Session, error) {
	sess, err := creds.OpenTarget(ctx, b.TargetCreds(), creds.Options{Vault: d.Vault, Log: d.Log}, ttl)
	if err != nil {
		return nil, nil, err
	}
	t, err := d.TargetFor(b, "", sess.Secrets)
	if err != nil {
		return nil, sess, err
	}
	return t, sess, nil
}

// locker is the control Consul's; standalone, a file lock in a local
// store's folder, or a lock object in an S3, GCS or Azure store
// (conditional writes),
// which s, the open store, must support: a lock elsewhere would exclude
// nothing across hosts.
func (d *Deps) locker(b *config.Backup, s store.Store) (lock.Locker, error) {
	if d.Locker != nil {
		return d.Locker, nil
	}
	if b.Storage.Kind == config.StorageLocal {
		return &lock.File{Dir: filepath.Join(b.Storage.Path, ".vigil-locks")}, nil
	}
	c, ok := s.(store.Conditional)
	if !ok {
		return nil, fmt.Errorf("lock: %s cannot hold a lock (no conditional writes); give the spec a control Consul", s)
	}
	return &lock.Store{S: c, Now: d.Now}, nil
}

// OpenStore opens the backup's store with fresh credentials. The session
// must be closed when the run ends: it revokes what Vault issued.
func (d *Deps) OpenStore(ctx context.Context, b *config.Backup) (store.Store, *creds.Session, error) {
	if s, ok := d.Stores[b.Storage.Name]; ok {
		return s, nil, nil
	}
	if d.Store != nil {
		return d.Store, nil, nil
	}
	st := b.Storage
	switch st.Kind {
	case config.StorageLocal:
		s, err := local.New(st.Path)
		return s, nil, err
	case config.StorageGCS, config.StorageAzure:
		s, err := d.openCloudStore(ctx, &st)
		return s, nil, err
	}
	ep := s3store.Endpoint{Endpoint: st.Endpoint, Region: st.Region, PathStyle: st.PathStyle}
	probe := func(ctx context.Context, p aws.CredentialsProvider) error {
		_, err := s3store.NewClient(ep, p).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(st.Bucket)})
		return err
	}
	sess, err := creds.Open(ctx, st.Credentials, creds.Options{
		Vault: d.Vault, Endpoint: st.Endpoint, Region: st.Region,
		SessionName: "vigil-" + b.Name, Probe: probe, Log: d.Log,
	})
	if err != nil {
		return nil, nil, err
	}
	return &s3store.Store{Client: s3store.NewClient(ep, sess.Provider), Bucket: st.Bucket, Prefix: st.Prefix, SSE: st.SSE,
		Versioned: st.ObjectLock != nil}, sess, nil
}

// book is the control Consul's, or records beside the backups.
func (d *Deps) book(s store.Store) record.Book {
	if d.Book != nil {
		return d.Book
	}
	return &record.Store{S: s, Keep: d.Keep}
}

// openCloudStore opens a gcs or azure storage, with its key from Vault
// KV or the SDK's own chain.
func (d *Deps) openCloudStore(ctx context.Context, st *config.Storage) (store.Store, error) {
	field := map[string]string{config.StorageGCS: "service_account_json", config.StorageAzure: "account_key"}[st.Kind]
	key, err := creds.CloudKey(ctx, st.Credentials, creds.Options{Vault: d.Vault, Log: d.Log}, field)
	if err != nil {
		return nil, err
	}
	if st.Kind == config.StorageGCS {
		c, err := gcs.NewClient(ctx, []byte(key), st.Endpoint)
		if err != nil {
			return nil, err
		}
		return &gcs.Store{Client: c, Bucket: st.Bucket, Prefix: st.Prefix}, nil
	}
	c, err := azure.NewClient(st.Account, st.Endpoint, key)
	if err != nil {
		return nil, err
	}
	return &azure.Store{Client: c, Container: st.Container, Prefix: st.Prefix}, nil
}
