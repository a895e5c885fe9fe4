// Package config holds vigil's evaluated configuration as plain Go values.
//
// The HCL decoder in hcl/ produces these structs; jobs/, tasks/ and plugin/
// consume them and never see HCL. A compiled Nomad job embeds a Config as
// JSON, so every field here must survive a JSON round trip unchanged.
package config

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"
)

// Backup types.
const (
	TypeConsulSnapshot = "consul_snapshot"
	TypeConsulKV       = "consul_kv"
	TypeEtcd           = "etcd"
	TypeElasticsearch  = "elasticsearch"
	TypeNomadSnapshot  = "nomad_snapshot"
	TypeVaultRaft      = "vault_raft"
	// TypeCommand backs up any data store through a dump command.
	TypeCommand = "command"
)

// DrillsInPlace reports whether a type's drills restore into the
// configured system (Elasticsearch, under a scratch prefix) rather than a
// scratch server of the drill's own, and so need the target's credentials.
func DrillsInPlace(typ string) bool { return typ == TypeElasticsearch }

// BackupTypes lists the supported backup types in a stable order.
var BackupTypes = []string{TypeConsulSnapshot, TypeConsulKV, TypeEtcd, TypeElasticsearch, TypeNomadSnapshot, TypeVaultRaft, TypeCommand}

// Config is one evaluated configuration: a directory of spec files, or the
// JSON a compiled job carries for its single backup.
type Config struct {
	// ID names the configuration (config_id, or the spec directory's
	// name): the jobs it compiles carry it, and apply -prune stops only
	// jobs of the same ID, so two spec directories in one namespace leave
	// each other's jobs alone.
	ID        string    `json:"id,omitempty"`
	Consul    Control   `json:"consul"`
	Vault     Vault     `json:"vault"`
	Nomad     Nomad     `json:"nomad"`
	Storages  []Storage `json:"storages,omitempty"`
	Backups   []Backup  `json:"backups"`
	Telemetry Telemetry `json:"telemetry"`
	Serve     Serve     `json:"serve"`
}

// Control is the "control Consul" where vigil keeps locks, run records and
// health checks. It is distinct from any Consul a backup reads.
type Control struct {
	Enabled    bool   `json:"enabled"`
	Address    string `json:"address,omitempty"`
	Datacenter string `json:"datacenter,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	TLS        *TLS   `json:"tls,omitempty"`
	// RunHistory is how many past runs each backup's records keep (on
	// the control Consul, or beside the backups when not Enabled); the
	// writer prunes older ones. 0 is record.DefaultHistory.
	RunHistory int `json:"run_history,omitempty"`
}

// Vault is where runs reach Vault. Nomad gives a task its VAULT_TOKEN but
// not the address, so the compiled job sets VAULT_ADDR from here; empty
// leaves the task's environment alone.
type Vault struct {
	Address   string `json:"address,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	TLS       *TLS   `json:"tls,omitempty"`
}

// Storage kinds.
const (
	StorageS3    = "s3"
	StorageLocal = "local"
	StorageGCS   = "gcs"
	StorageAzure = "azure"
)

// Storage is where backups go.
type Storage struct {
	Kind string `json:"kind"`
	Name string `json:"name"`

	// S3.
	Bucket    string `json:"bucket,omitempty"`
	Prefix    string `json:"prefix,omitempty"`
	Region    string `json:"region,omitempty"`
	Endpoint  string `json:"endpoint,omitempty"`
	PathStyle bool   `json:"path_style,omitempty"`
	SSE       string `json:"sse,omitempty"`
	// DownloadConcurrency is the range requests in flight when an object
	// is read back (restore, drill, verify); 0 is the default for the
	// machine the read runs on (store.DefaultDownloadConcurrency).
	DownloadConcurrency int         `json:"download_concurrency,omitempty"`
	Credentials         Credentials `json:"credentials,omitempty"`
	ObjectLock          *ObjectLock `json:"object_lock,omitempty"`
	// Encryption applies to every backup stored here that sets none.
	Encryption *Encryption `json:"encryption,omitempty"`
	// Signing applies to every backup stored here that sets no
	// encryption or signing of its own.
	Signing *Signing `json:"signing,omitempty"`

	// Azure Blob Storage: the account and container (Prefix as above),
	// and the blob service URL when it is not the account's public one
	// (Azurite, a private endpoint). GCS uses Bucket, Prefix and Endpoint.
	Account   string `json:"account,omitempty"`
	Container string `json:"container,omitempty"`

	// Retain, when set, is what backups keep in this storage, over the
	// backup's own retain: with several copies, fewer on fast storage and
	// more offsite.
	Retain *Retain `json:"retain,omitempty"`

	// Local folder. Under Nomad's exec and docker drivers a task sees its
	// own filesystem: HostVolume names the Nomad host volume (a
	// host_volume block of the clients) mounted at Path in the task.
	Path       string `json:"path,omitempty"`
	HostVolume string `json:"host_volume,omitempty"`

	// RefPos is where the backup names this storage (file:line:col), for
	// errors found when its job is compiled; never in a compiled job.
	RefPos string `json:"-"`
}

// Ref is the spec's reference form, storage.KIND.NAME.
func (s Storage) Ref() string { return "storage." + s.Kind + "." + s.Name }

// Credential sources.
const (
	CredVaultAWS         = "vault_aws_path"
	CredVaultKV          = "vault_kv_path"
	CredVaultIdentitySTS = "vault_identity_sts"
	CredEnvironment      = "environment"
)

// Credentials says where a run gets S3 keys. Only paths and role names live
// here; the keys themselves never enter a Config.
type Credentials struct {
	Source string `json:"source,omitempty"`
	// VaultPath is the Vault path for vault_aws_path and vault_kv_path.
	VaultPath string `json:"vault_path,omitempty"`
	// IdentityRole is the Vault identity OIDC role for vault_identity_sts.
	IdentityRole string `json:"identity_role,omitempty"`
	// Duration is the STS session length requested; zero leaves it to the
	// identity token's lifetime.
	Duration time.Duration `json:"duration,omitempty"`
	// RoleARN is sent to STS; MinIO ignores it, AWS requires it.
	RoleARN string `json:"role_arn,omitempty"`
}

// UsesVault reports whether the credentials come from Vault.
func (c Credentials) UsesVault() bool {
	return c.Source == CredVaultAWS || c.Source == CredVaultKV || c.Source == CredVaultIdentitySTS
}

// Credential sources of the systems backups read.
const (
	// CredVaultConsul is a Consul token from Vault's Consul secrets engine
	// (consul/creds/ROLE).
	CredVaultConsul = "vault_consul_path"
	// CredVaultPKI is a client certificate from Vault's PKI engine
	// (pki/issue/ROLE).
	CredVaultPKI = "vault_pki_path"
	// CredVaultNomad is a Nomad ACL token from Vault's Nomad secrets
	// engine (nomad/creds/ROLE).
	CredVaultNomad = "vault_nomad_path"
	// CredVaultDatabase is a database user from Vault's database secrets
	// engine (database/creds/ROLE), handed to a command backup's dump and
	// restore through the variables their client tools read.
	CredVaultDatabase = "vault_database"
)

// TargetCredentials says where a run gets the credentials of the system it
// backs up: issued by Vault for the run and revoked at its end (a Consul
// token, an etcd client certificate), or read from Vault KV (an
// Elasticsearch API key or user). Only paths live here; the credentials
// never enter a Config.
type TargetCredentials struct {
	// Source is vault_consul_path, vault_pki_path, vault_nomad_path or
	// vault_kv_path.
	Source    string `json:"source"`
	VaultPath string `json:"vault_path"`
	// CommonName is a PKI certificate's CN: the etcd user with etcd's
	// client-certificate authentication.
	CommonName string `json:"common_name,omitempty"`
	// TTL is the PKI certificate's lifetime; zero asks for the run's own.
	TTL time.Duration `json:"ttl,omitempty"`
	// UsernameEnv and PasswordEnv name the variables a command backup's
	// tools read a database user from (PGUSER and PGPASSWORD, say).
	UsernameEnv string `json:"username_env,omitempty"`
	PasswordEnv string `json:"password_env,omitempty"`
	// UsernameArg is the option that names the user to tools that read it
	// from no variable (mariadb-dump's and redis-cli's --user): the dump
	// gets it and the user's name right after its program name.
	UsernameArg string `json:"username_arg,omitempty"`
}

// ForCommand says these credentials are a database user for a command
// backup's tools (from vault_database or a vault_kv_path secret with
// username and password), not an Elasticsearch login.
func (c *TargetCredentials) ForCommand() bool { return c != nil && c.PasswordEnv != "" }

// CommandSource is what a command backup runs: a dump that writes the
// backup to its stdout, and a restore that reads it on its stdin. Their
// exit status decides.
type CommandSource struct {
	Dump    []string `json:"dump"`
	Restore []string `json:"restore,omitempty"`
	// Env holds plain settings (a host, a database name); secrets come
	// from Creds.
	Env map[string]string `json:"env,omitempty"`
	// Timeout bounds the dump (and a restore); zero leaves the backup's.
	Timeout time.Duration      `json:"timeout,omitempty"`
	Creds   *TargetCredentials `json:"credentials,omitempty"`
}

// Backup is one backup, fully resolved: its storage is copied in and its
// Nomad settings are the defaults merged with its own overrides.
type Backup struct {
	Type     string `json:"type"`
	Name     string `json:"name"`
	Schedule string `json:"schedule"`
	TimeZone string `json:"time_zone,omitempty"`
	// Storage is where the backup goes, the first of its destinations:
	// without a control Consul it holds the lock and the run records.
	Storage Storage `json:"storage"`
	// Copies are the further destinations (storage = [a, b, c]): the same
	// bytes, teed from one pass of the source, each with its own manifest.
	Copies  []Storage     `json:"copies,omitempty"`
	Retain  Retain        `json:"retain"`
	Lock    Lock          `json:"lock"`
	Timeout time.Duration `json:"timeout"`
	// Grace is how long past its expected time a run may be missing
	// before the backup counts as overdue; zero means twice the timeout.
	Grace       time.Duration `json:"grace,omitempty"`
	Compression string        `json:"compression"`
	// AllowEmpty accepts a backup that holds nothing (0 keys, 0 shards);
	// by default an empty backup fails, as a mistyped prefix would.
	AllowEmpty bool `json:"allow_empty,omitempty"`
	// Encryption is the backup's own, or its storage's.
	Encryption *Encryption `json:"encryption,omitempty"`
	// Signing is the backup's own, or its storage's, when it is not
	// encrypted (encryption signs its manifests already).
	Signing *Signing `json:"signing,omitempty"`

	Consul        *ConsulSource        `json:"consul,omitempty"`
	Etcd          *EtcdSource          `json:"etcd,omitempty"`
	Elasticsearch *ElasticsearchSource `json:"elasticsearch,omitempty"`
	// NomadCluster and VaultCluster are the systems a nomad_snapshot and a
	// vault_raft backup read (the backup's nomad and vault blocks); Nomad
	// below places the job, and the top-level vault issues credentials.
	NomadCluster *NomadSource `json:"nomad_cluster,omitempty"`
	VaultCluster *VaultSource `json:"vault_cluster,omitempty"`
	// Command is what a command backup runs.
	Command *CommandSource `json:"command,omitempty"`
	Verify  *Verify        `json:"verify,omitempty"`

	Nomad Nomad `json:"nomad"`
}

// Retain is a GFS retention policy. Zero fields are unset.
type Retain struct {
	Last    int           `json:"last,omitempty"`
	Daily   int           `json:"daily,omitempty"`
	Weekly  int           `json:"weekly,omitempty"`
	Monthly int           `json:"monthly,omitempty"`
	MaxAge  time.Duration `json:"max_age,omitempty"`
}

// RecordPrefix is where run records live on the control Consul (and, under
// each backup's folder, in a store); no lock key may lie in it.
const RecordPrefix = "vigil/runs/"

// HistoryPrefix is where the control Consul keeps each backup's past runs,
// apart from RecordPrefix so that watching the latest records never reads
// the history.
const HistoryPrefix = "vigil/history/"

// Lock configures the run lock.
type Lock struct {
	Key  string        `json:"key"`
	TTL  time.Duration `json:"ttl"`
	Wait time.Duration `json:"wait"`
}

// ConsulSource is the Consul a consul_snapshot or consul_kv backup reads.
type ConsulSource struct {
	Address    string             `json:"address,omitempty"`
	Datacenter string             `json:"datacenter,omitempty"`
	Prefix     string             `json:"prefix,omitempty"`
	Stale      bool               `json:"stale,omitempty"`
	TLS        *TLS               `json:"tls,omitempty"`
	Creds      *TargetCredentials `json:"credentials,omitempty"`
}

// EtcdSource is the etcd cluster an etcd backup reads.
type EtcdSource struct {
	Endpoints   []string           `json:"endpoints"`
	DialTimeout time.Duration      `json:"dial_timeout,omitempty"`
	TLS         *TLS               `json:"tls,omitempty"`
	Creds       *TargetCredentials `json:"credentials,omitempty"`
}

// TLS is how a client checks a server and proves itself, as each CLI takes
// it (CONSUL_CACERT, VAULT_CACERT, NOMAD_CACERT...): paths of files on the
// node, never their contents. Set fields override the environment's.
type TLS struct {
	CAFile     string `json:"ca_file,omitempty"`
	CAPath     string `json:"ca_path,omitempty"`
	CertFile   string `json:"cert_file,omitempty"`
	KeyFile    string `json:"key_file,omitempty"`
	ServerName string `json:"tls_server_name,omitempty"`
}

// ElasticsearchSource is the cluster an elasticsearch backup drives.
type ElasticsearchSource struct {
	URL                string              `json:"url"`
	Repository         string              `json:"repository"`
	RepositorySettings *RepositorySettings `json:"repository_settings,omitempty"`
	Indices            []string            `json:"indices,omitempty"`
	IncludeGlobalState bool                `json:"include_global_state,omitempty"`
	SnapshotPrefix     string              `json:"snapshot_prefix"`
	TLS                *TLS                `json:"tls,omitempty"`
	Creds              *TargetCredentials  `json:"credentials,omitempty"`
}

// RepositorySettings registers the snapshot repository when present.
type RepositorySettings struct {
	Type     string `json:"type"`
	Bucket   string `json:"bucket,omitempty"`
	BasePath string `json:"base_path,omitempty"`
	Client   string `json:"client,omitempty"`
	Location string `json:"location,omitempty"`
}

// Verify declares a restore drill and its assertions.
type Verify struct {
	Schedule    string        `json:"schedule,omitempty"`
	AfterBackup bool          `json:"after_backup,omitempty"`
	MaxDuration time.Duration `json:"max_duration,omitempty"`
	// MaxAge is how old the last verified-good backup may be before its
	// health check turns critical.
	MaxAge  time.Duration `json:"max_age,omitempty"`
	MinKeys int           `json:"min_keys,omitempty"`
	// Scratch says where a drill finds the scratch server's binaries.
	Scratch  *Scratch          `json:"scratch,omitempty"`
	Keys     []KeyAssertion    `json:"keys,omitempty"`
	Prefixes []PrefixAssertion `json:"prefixes,omitempty"`
	Indices  []IndexAssertion  `json:"indices,omitempty"`
	// Nomad: jobs (not periodic children) across namespaces, named jobs
	// and variables.
	MinJobs   int           `json:"min_jobs,omitempty"`
	Jobs      []NomadObject `json:"jobs,omitempty"`
	Variables []NomadObject `json:"variables,omitempty"`
	Vault     *VaultDrill   `json:"vault,omitempty"`
	// Asserts are a command backup's checks: commands run against the
	// scratch server the backup was restored into.
	Asserts []CommandAssertion `json:"asserts,omitempty"`
}

// CommandAssertion is one check of a command backup's drill: a command
// that must exit 0 and whose output (trimmed) must equal Expect, match
// Match, or be a number at least Min.
type CommandAssertion struct {
	Name    string   `json:"name"`
	Command []string `json:"command"`
	Expect  *string  `json:"expect,omitempty"`
	Match   string   `json:"match,omitempty"`
	Min     *int64   `json:"min,omitempty"`
}

// ScratchServer is how a command backup's drill starts its throwaway
// server. Its argv and env may hold {{ .Dir }} (the drill's own empty
// folder) and {{ .Port }} (a free port of 127.0.0.1).
type ScratchServer struct {
	// Init runs to completion first (initdb, say); optional.
	Init []string `json:"init,omitempty"`
	// Start runs the server in the foreground until the drill stops it.
	Start []string `json:"start"`
	// Ready is polled until it exits 0.
	Ready []string `json:"ready"`
	// Env is what the restore and the assertions get on top of the
	// command block's env: the scratch server's address.
	Env map[string]string `json:"env,omitempty"`
	// User runs Init and Start as another user (PostgreSQL refuses to
	// run as root); the folder is given to that user.
	User string `json:"user,omitempty"`
	// RestoreFirst restores before Start, for stores restored by starting
	// a server on the dumped file (Redis's RDB): the restore then writes
	// the file, and the server reads it as it starts.
	RestoreFirst bool `json:"restore_first,omitempty"`
}

// Scratch locates the binaries of a drill's scratch server (consul, or etcd
// and etcdutl). Empty paths are looked up in the artifact's folder, then on
// PATH.
type Scratch struct {
	Consul  string `json:"consul,omitempty"`
	Etcd    string `json:"etcd,omitempty"`
	Etcdutl string `json:"etcdutl,omitempty"`
	Nomad   string `json:"nomad,omitempty"`
	Vault   string `json:"vault,omitempty"`
	// Artifact is fetched by Nomad into local/scratch/ (exec, raw_exec).
	Artifact string `json:"artifact,omitempty"`
	// Image runs the scratch server as a sidecar task (docker).
	Image string `json:"image,omitempty"`
	// Server is a command backup's scratch server.
	Server *ScratchServer `json:"server,omitempty"`
}

// KeyAssertion requires a key to exist, and to hold Value when it is set.
type KeyAssertion struct {
	Key   string  `json:"key"`
	Value *string `json:"value,omitempty"`
}

// PrefixAssertion requires at least MinKeys keys under Prefix.
type PrefixAssertion struct {
	Prefix  string `json:"prefix"`
	MinKeys int    `json:"min_keys"`
}

// IndexAssertion requires at least MinDocs documents in indices matching Pattern.
type IndexAssertion struct {
	Pattern string `json:"pattern"`
	MinDocs int64  `json:"min_docs"`
}

// Nomad drivers.
const (
	DriverDocker  = "docker"
	DriverExec    = "exec"
	DriverRawExec = "raw_exec"
)

// Nomad is how a backup's job is placed and run.
type Nomad struct {
	// Address and TLS reach the Nomad API for plan and apply when neither
	// flags nor NOMAD_* variables say otherwise (the top-level block only).
	Address     string       `json:"address,omitempty"`
	TLS         *TLS         `json:"tls,omitempty"`
	Datacenters []string     `json:"datacenters,omitempty"`
	Region      string       `json:"region,omitempty"`
	Namespace   string       `json:"namespace,omitempty"`
	NodePool    string       `json:"node_pool,omitempty"`
	Priority    int          `json:"priority,omitempty"`
	Constraints []Constraint `json:"constraints,omitempty"`
	Driver      string       `json:"driver,omitempty"`
	Image       string       `json:"image,omitempty"`
	Artifact    string       `json:"artifact,omitempty"`
	// ArtifactChecksum is "TYPE:HEX" (sha256:...), checked by Nomad's
	// artifact fetcher.
	ArtifactChecksum string `json:"artifact_checksum,omitempty"`
	// Binary is the vigil binary's path on the node (raw_exec, exec without
	// an artifact).
	Binary   string `json:"binary,omitempty"`
	CPU      int    `json:"cpu,omitempty"`
	MemoryMB int    `json:"memory,omitempty"`
	// NetworkMode is the docker driver's network_mode ("host" reaches
	// servers on the node's loopback).
	NetworkMode string `json:"network_mode,omitempty"`
	// Env is added to the task's environment; secret-looking names are
	// refused, since it is compiled into the job in clear text.
	Env map[string]string `json:"env,omitempty"`
	// Mounts are Nomad host volumes mounted into the task.
	Mounts         []Mount `json:"mounts,omitempty"`
	VaultRole      string  `json:"vault_role,omitempty"`
	VaultEnabled   bool    `json:"vault_enabled,omitempty"`
	ConsulIdentity bool    `json:"consul_identity,omitempty"`
}

// Mount is a Nomad host volume (a client's host_volume block) mounted at
// Path in the task.
type Mount struct {
	Volume   string `json:"volume"`
	Path     string `json:"path"`
	ReadOnly bool   `json:"read_only"`
}

// Constraint mirrors a Nomad constraint.
type Constraint struct {
	Attribute string `json:"attribute,omitempty"`
	Operator  string `json:"operator,omitempty"`
	Value     string `json:"value,omitempty"`
}

// Telemetry configures metrics, shaped like Nomad's telemetry block.
type Telemetry struct {
	StatsdAddress           string        `json:"statsd_address,omitempty"`
	DogStatsdAddress        string        `json:"dogstatsd_address,omitempty"`
	DogStatsdTags           []string      `json:"dogstatsd_tags,omitempty"`
	PrometheusRetentionTime time.Duration `json:"prometheus_retention_time,omitempty"`
}

// Serve configures `vigil serve` and its Nomad service job.
type Serve struct {
	Address string `json:"address,omitempty"`
	// Count is how many vigil serve allocations run; one leader writes the
	// Consul checks, all serve HTTP.
	Count int `json:"count,omitempty"`
	// Node is the external catalog node the checks are registered on.
	Node string `json:"node,omitempty"`
}

// TargetCreds returns the backup's target credentials source, if any.
func (b *Backup) TargetCreds() *TargetCredentials {
	switch {
	case b.Consul != nil:
		return b.Consul.Creds
	case b.Etcd != nil:
		return b.Etcd.Creds
	case b.Elasticsearch != nil:
		return b.Elasticsearch.Creds
	case b.NomadCluster != nil:
		return b.NomadCluster.Creds
	case b.Command != nil:
		return b.Command.Creds
	}
	return nil
}

// OverdueGrace is the backup's grace, defaulted.
func (b *Backup) OverdueGrace() time.Duration {
	if b.Grace > 0 {
		return b.Grace
	}
	return 2 * b.Timeout
}

// Backup returns the named backup.
func (c *Config) Backup(name string) (*Backup, error) {
	for i := range c.Backups {
		if c.Backups[i].Name == name {
			return &c.Backups[i], nil
		}
	}
	names := make([]string, 0, len(c.Backups))
	for _, b := range c.Backups {
		names = append(names, b.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("config: no backup %q (have: %v)", name, names)
}

// SingleOf returns a copy of c that holds only backup b (which carries its
// storage): what a compiled job embeds.
func (c *Config) SingleOf(b *Backup) *Config {
	return &Config{ID: c.ID, Consul: c.Consul, Vault: c.Vault, Telemetry: c.Telemetry, Serve: c.Serve, Nomad: b.Nomad, Backups: []Backup{*b}}
}

// Encode writes c as indented JSON; the bytes depend only on c.
func (c *Config) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

// Decode reads a JSON config and rejects unknown fields, so a job compiled
// by a newer vigil fails loudly on an older binary instead of dropping settings.
func Decode(r io.Reader) (*Config, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config: decode json: %w", err)
	}
	return &c, nil
}

// ReadJSONFile decodes a JSON config file.
func ReadJSONFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: open %s: %w", path, err)
	}
	defer f.Close()
	c, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
}

// Destinations are every storage the backup writes to, in the spec's
// order: Storage first, then Copies.
func (b *Backup) Destinations() []Storage {
	return append([]Storage{b.Storage}, b.Copies...)
}

// At is the backup as stored in its i-th destination alone: that storage,
// no copies, and the storage's own retain when it sets one. Every stage
// that works on one store (retention, listing, restores) takes it.
func (b *Backup) At(i int) *Backup {
	c := *b
	c.Storage = b.Destinations()[i]
	c.Copies = nil
	if c.Storage.Retain != nil {
		c.Retain = *c.Storage.Retain
	}
	return &c
}

// Destination is the index of the destination named name, or -1.
func (b *Backup) Destination(name string) int {
	for i, s := range b.Destinations() {
		if s.Name == name {
			return i
		}
	}
	return -1
}
