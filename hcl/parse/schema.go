package parse

import "github.com/hashicorp/hcl/v2"

// The raw* structs are the gohcl schema of the spec language. Attributes
// that need checks beyond their type (durations, crons, enums, references)
// are kept as *hcl.Attribute so their diagnostics can point at the value.

var rootSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "config_id"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "consul"},
		{Type: "vault"},
		{Type: "nomad"},
		{Type: "storage", LabelNames: []string{"kind", "name"}},
		{Type: "backup", LabelNames: []string{"type", "name"}},
		{Type: "telemetry"},
		{Type: "serve"},
	},
}

// The TLS attributes (ca_file, ca_path, cert_file, key_file,
// tls_server_name) sit flat in each block that reaches a server, named as
// the CLIs' variables are (CONSUL_CACERT, VAULT_CLIENT_CERT, ...); gohcl
// has no embedded structs, so each raw block lists them.

type rawControl struct {
	Enabled       *bool          `hcl:"enabled,optional"`
	RunHistory    *hcl.Attribute `hcl:"run_history,optional"`
	Address       string         `hcl:"address,optional"`
	Datacenter    string         `hcl:"datacenter,optional"`
	Namespace     string         `hcl:"namespace,optional"`
	CAFile        string         `hcl:"ca_file,optional"`
	CAPath        string         `hcl:"ca_path,optional"`
	CertFile      string         `hcl:"cert_file,optional"`
	KeyFile       string         `hcl:"key_file,optional"`
	TLSServerName string         `hcl:"tls_server_name,optional"`
	DefRange      hcl.Range      `hcl:",def_range"`
}

type rawVault struct {
	Address       string    `hcl:"address,optional"`
	Namespace     string    `hcl:"namespace,optional"`
	CAFile        string    `hcl:"ca_file,optional"`
	CAPath        string    `hcl:"ca_path,optional"`
	CertFile      string    `hcl:"cert_file,optional"`
	KeyFile       string    `hcl:"key_file,optional"`
	TLSServerName string    `hcl:"tls_server_name,optional"`
	DefRange      hcl.Range `hcl:",def_range"`
}

type rawS3 struct {
	Bucket    string         `hcl:"bucket"`
	Prefix    string         `hcl:"prefix,optional"`
	Region    string         `hcl:"region,optional"`
	Endpoint  *hcl.Attribute `hcl:"endpoint,optional"`
	PathStyle bool           `hcl:"path_style,optional"`
	SSE       *hcl.Attribute `hcl:"sse,optional"`
	// DownloadConcurrency is the range requests in flight when a restore,
	// drill or verify reads an object.
	DownloadConcurrency *hcl.Attribute  `hcl:"download_concurrency,optional"`
	Credentials         *rawCredentials `hcl:"credentials,block"`
	ObjectLock          *rawObjectLock  `hcl:"object_lock,block"`
	Retain              *rawRetain      `hcl:"retain,block"`
	Encryption          *rawEncryption  `hcl:"encryption,block"`
	Signing             *rawSigning     `hcl:"signing,block"`
	DefRange            hcl.Range       `hcl:",def_range"`
}

// rawGCS is a Google Cloud Storage bucket.
type rawGCS struct {
	Bucket   string         `hcl:"bucket"`
	Prefix   string         `hcl:"prefix,optional"`
	Endpoint *hcl.Attribute `hcl:"endpoint,optional"`
	// DownloadConcurrency is the range requests in flight when a restore,
	// drill or verify reads an object.
	DownloadConcurrency *hcl.Attribute  `hcl:"download_concurrency,optional"`
	Credentials         *rawCredentials `hcl:"credentials,block"`
	Retain              *rawRetain      `hcl:"retain,block"`
	Encryption          *rawEncryption  `hcl:"encryption,block"`
	Signing             *rawSigning     `hcl:"signing,block"`
	DefRange            hcl.Range       `hcl:",def_range"`
}

// rawAzure is an Azure Blob Storage container.
type rawAzure struct {
	Account             string          `hcl:"account"`
	Container           string          `hcl:"container"`
	Prefix              string          `hcl:"prefix,optional"`
	Endpoint            *hcl.Attribute  `hcl:"endpoint,optional"`
	DownloadConcurrency *hcl.Attribute  `hcl:"download_concurrency,optional"`
	Credentials         *rawCredentials `hcl:"credentials,block"`
	Retain              *rawRetain      `hcl:"retain,block"`
	Encryption          *rawEncryption  `hcl:"encryption,block"`
	Signing             *rawSigning     `hcl:"signing,block"`
	DefRange            hcl.Range       `hcl:",def_range"`
}

type rawObjectLock struct {
	Mode     *hcl.Attribute `hcl:"mode"`
	Retain   *hcl.Attribute `hcl:"retain"`
	DefRange hcl.Range      `hcl:",def_range"`
}

// rawEncryption holds one source of keys: vault_transit.
type rawEncryption struct {
	VaultTransit *rawVaultTransit `hcl:"vault_transit,block"`
	DefRange     hcl.Range        `hcl:",def_range"`
}

type rawVaultTransit struct {
	Key          *hcl.Attribute `hcl:"key"`
	Mount        *hcl.Attribute `hcl:"mount,optional"`
	SignKey      *hcl.Attribute `hcl:"sign_key,optional"`
	PreviousKeys *hcl.Attribute `hcl:"previous_keys,optional"`
	DefRange     hcl.Range      `hcl:",def_range"`
}

// rawSigning is signing { vault_transit { key, mount, type, previous_keys } }.
type rawSigning struct {
	VaultTransit *rawSigningTransit `hcl:"vault_transit,block"`
	DefRange     hcl.Range          `hcl:",def_range"`
}

type rawSigningTransit struct {
	Key          *hcl.Attribute `hcl:"key"`
	Mount        *hcl.Attribute `hcl:"mount,optional"`
	Type         *hcl.Attribute `hcl:"type,optional"`
	PreviousKeys *hcl.Attribute `hcl:"previous_keys,optional"`
	DefRange     hcl.Range      `hcl:",def_range"`
}

type rawCredentials struct {
	VaultAWSPath     *hcl.Attribute       `hcl:"vault_aws_path,optional"`
	VaultKVPath      *hcl.Attribute       `hcl:"vault_kv_path,optional"`
	VaultIdentitySTS *rawVaultIdentitySTS `hcl:"vault_identity_sts,block"`
	Environment      *hcl.Attribute       `hcl:"environment,optional"`
	DefRange         hcl.Range            `hcl:",def_range"`
}

type rawVaultIdentitySTS struct {
	Role     string         `hcl:"role"`
	Duration *hcl.Attribute `hcl:"duration,optional"`
	RoleARN  string         `hcl:"role_arn,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawLocal struct {
	Path *hcl.Attribute `hcl:"path"`
	// HostVolume is the Nomad host volume that holds path on the clients.
	HostVolume *hcl.Attribute `hcl:"host_volume,optional"`
	Retain     *rawRetain     `hcl:"retain,block"`
	Encryption *rawEncryption `hcl:"encryption,block"`
	Signing    *rawSigning    `hcl:"signing,block"`
}

type rawBackup struct {
	Schedule      *hcl.Attribute    `hcl:"schedule"`
	TimeZone      *hcl.Attribute    `hcl:"time_zone,optional"`
	Storage       *hcl.Attribute    `hcl:"storage"`
	Timeout       *hcl.Attribute    `hcl:"timeout,optional"`
	Grace         *hcl.Attribute    `hcl:"grace,optional"`
	Compression   *hcl.Attribute    `hcl:"compression,optional"`
	AllowEmpty    bool              `hcl:"allow_empty,optional"`
	Retain        *rawRetain        `hcl:"retain,block"`
	Lock          *rawLock          `hcl:"lock,block"`
	Consul        *rawConsulSource  `hcl:"consul,block"`
	Etcd          *rawEtcd          `hcl:"etcd,block"`
	Elasticsearch *rawElasticsearch `hcl:"elasticsearch,block"`
	Command       *rawCommand       `hcl:"command,block"`
	Verify        *rawVerify        `hcl:"verify,block"`
	Encryption    *rawEncryption    `hcl:"encryption,block"`
	Signing       *rawSigning       `hcl:"signing,block"`
	// Nomad places the job, except in a nomad_snapshot backup, where it
	// names the cluster backed up (rawNomadSource); Vault names the cluster
	// a vault_raft backup reads.
	Nomad *rawBlock       `hcl:"nomad,block"`
	Vault *rawVaultSource `hcl:"vault,block"`
}

// rawBlock is a block decoded later, by what it means in its backup.
type rawBlock struct {
	Body     hcl.Body  `hcl:",remain"`
	DefRange hcl.Range `hcl:",def_range"`
}

type rawNomadSource struct {
	Address       string                `hcl:"address,optional"`
	Region        string                `hcl:"region,optional"`
	Stale         bool                  `hcl:"stale,optional"`
	Credentials   *rawTargetCredentials `hcl:"credentials,block"`
	CAFile        string                `hcl:"ca_file,optional"`
	CAPath        string                `hcl:"ca_path,optional"`
	CertFile      string                `hcl:"cert_file,optional"`
	KeyFile       string                `hcl:"key_file,optional"`
	TLSServerName string                `hcl:"tls_server_name,optional"`
}

type rawVaultSource struct {
	Address       string    `hcl:"address,optional"`
	CAFile        string    `hcl:"ca_file,optional"`
	CAPath        string    `hcl:"ca_path,optional"`
	CertFile      string    `hcl:"cert_file,optional"`
	KeyFile       string    `hcl:"key_file,optional"`
	TLSServerName string    `hcl:"tls_server_name,optional"`
	DefRange      hcl.Range `hcl:",def_range"`
}

type rawRetain struct {
	Last     *hcl.Attribute `hcl:"last,optional"`
	Daily    *hcl.Attribute `hcl:"daily,optional"`
	Weekly   *hcl.Attribute `hcl:"weekly,optional"`
	Monthly  *hcl.Attribute `hcl:"monthly,optional"`
	MaxAge   *hcl.Attribute `hcl:"max_age,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawLock struct {
	Key  *hcl.Attribute `hcl:"key,optional"`
	TTL  *hcl.Attribute `hcl:"ttl,optional"`
	Wait *hcl.Attribute `hcl:"wait,optional"`
}

type rawConsulSource struct {
	Address       string                `hcl:"address,optional"`
	Datacenter    string                `hcl:"datacenter,optional"`
	Prefix        *hcl.Attribute        `hcl:"prefix,optional"`
	Stale         bool                  `hcl:"stale,optional"`
	Credentials   *rawTargetCredentials `hcl:"credentials,block"`
	CAFile        string                `hcl:"ca_file,optional"`
	CAPath        string                `hcl:"ca_path,optional"`
	CertFile      string                `hcl:"cert_file,optional"`
	KeyFile       string                `hcl:"key_file,optional"`
	TLSServerName string                `hcl:"tls_server_name,optional"`
	DefRange      hcl.Range             `hcl:",def_range"`
}

type rawEtcd struct {
	Endpoints     []string              `hcl:"endpoints"`
	DialTimeout   *hcl.Attribute        `hcl:"dial_timeout,optional"`
	TLS           *rawTLS               `hcl:"tls,block"`
	Credentials   *rawTargetCredentials `hcl:"credentials,block"`
	CAFile        string                `hcl:"ca_file,optional"`
	CAPath        string                `hcl:"ca_path,optional"`
	CertFile      string                `hcl:"cert_file,optional"`
	KeyFile       string                `hcl:"key_file,optional"`
	TLSServerName string                `hcl:"tls_server_name,optional"`
	DefRange      hcl.Range             `hcl:",def_range"`
}

// rawTLS is etcd's tls block, kept beside the flat attributes for specs
// written before them.
type rawTLS struct {
	CAFile        string `hcl:"ca_file,optional"`
	CAPath        string `hcl:"ca_path,optional"`
	CertFile      string `hcl:"cert_file,optional"`
	KeyFile       string `hcl:"key_file,optional"`
	TLSServerName string `hcl:"tls_server_name,optional"`
}

// rawTargetCredentials is where a run gets the credentials of the system a
// backup reads: one source, which must fit the backup type.
type rawTargetCredentials struct {
	VaultConsulPath *hcl.Attribute `hcl:"vault_consul_path,optional"`
	VaultPKIPath    *hcl.Attribute `hcl:"vault_pki_path,optional"`
	VaultKVPath     *hcl.Attribute `hcl:"vault_kv_path,optional"`
	VaultNomadPath  *hcl.Attribute `hcl:"vault_nomad_path,optional"`
	VaultDatabase   *hcl.Attribute `hcl:"vault_database,optional"`
	UsernameEnv     *hcl.Attribute `hcl:"username_env,optional"`
	PasswordEnv     *hcl.Attribute `hcl:"password_env,optional"`
	UsernameArg     *hcl.Attribute `hcl:"username_arg,optional"`
	CommonName      *hcl.Attribute `hcl:"common_name,optional"`
	TTL             *hcl.Attribute `hcl:"ttl,optional"`
	DefRange        hcl.Range      `hcl:",def_range"`
}

// rawCommand is a command backup's block: argv lists, never a shell line.
type rawCommand struct {
	Preset      *hcl.Attribute        `hcl:"preset,optional"`
	Dump        *hcl.Attribute        `hcl:"dump,optional"`
	Restore     *hcl.Attribute        `hcl:"restore,optional"`
	Env         *hcl.Attribute        `hcl:"env,optional"`
	Timeout     *hcl.Attribute        `hcl:"timeout,optional"`
	Credentials *rawTargetCredentials `hcl:"credentials,block"`
	DefRange    hcl.Range             `hcl:",def_range"`
}

type rawElasticsearch struct {
	URL                *hcl.Attribute         `hcl:"url"`
	Repository         *hcl.Attribute         `hcl:"repository"`
	RepositorySettings *rawRepositorySettings `hcl:"repository_settings,block"`
	Indices            []string               `hcl:"indices,optional"`
	IncludeGlobalState bool                   `hcl:"include_global_state,optional"`
	SnapshotPrefix     *hcl.Attribute         `hcl:"snapshot_prefix,optional"`
	Credentials        *rawTargetCredentials  `hcl:"credentials,block"`
	CAFile             string                 `hcl:"ca_file,optional"`
	CAPath             string                 `hcl:"ca_path,optional"`
	CertFile           string                 `hcl:"cert_file,optional"`
	KeyFile            string                 `hcl:"key_file,optional"`
	TLSServerName      string                 `hcl:"tls_server_name,optional"`
	DefRange           hcl.Range              `hcl:",def_range"`
}

type rawRepositorySettings struct {
	Type     *hcl.Attribute `hcl:"type"`
	Bucket   string         `hcl:"bucket,optional"`
	BasePath string         `hcl:"base_path,optional"`
	Client   string         `hcl:"client,optional"`
	Location string         `hcl:"location,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawVerify struct {
	Schedule    *hcl.Attribute `hcl:"schedule,optional"`
	AfterBackup bool           `hcl:"after_backup,optional"`
	MaxDuration *hcl.Attribute `hcl:"max_duration,optional"`
	MaxAge      *hcl.Attribute `hcl:"max_age,optional"`
	MinKeys     *hcl.Attribute `hcl:"min_keys,optional"`
	Keys        []rawKey       `hcl:"key,block"`
	Prefixes    []rawPrefix    `hcl:"prefix,block"`
	Indices     []rawIndex     `hcl:"index,block"`
	Scratch     *rawScratch    `hcl:"scratch,block"`
	// command
	Asserts []rawAssert `hcl:"assert,block"`
	// nomad_snapshot
	MinJobs   *hcl.Attribute   `hcl:"min_jobs,optional"`
	Jobs      []rawNomadObject `hcl:"job,block"`
	Variables []rawNomadObject `hcl:"variable,block"`
	// vault_raft
	UnsealKeysFile   *hcl.Attribute `hcl:"unseal_keys_file,optional"`
	RecoveryKeysFile *hcl.Attribute `hcl:"recovery_keys_file,optional"`
	Seals            []rawSeal      `hcl:"seal,block"`
	Mounts           []rawLabel     `hcl:"mount,block"`
	Secrets          []rawLabel     `hcl:"secret,block"`
	DefRange         hcl.Range      `hcl:",def_range"`
}

type rawNomadObject struct {
	Name      string    `hcl:"name,label"`
	Namespace string    `hcl:"namespace,optional"`
	DefRange  hcl.Range `hcl:",def_range"`
}

// rawSeal is a drill's seal "transit" block, Vault's own stanza.
type rawSeal struct {
	Type          string    `hcl:"type,label"`
	Address       string    `hcl:"address"`
	KeyName       string    `hcl:"key_name"`
	MountPath     string    `hcl:"mount_path"`
	Namespace     string    `hcl:"namespace,optional"`
	CAFile        string    `hcl:"tls_ca_cert,optional"`
	CertFile      string    `hcl:"tls_client_cert,optional"`
	KeyFile       string    `hcl:"tls_client_key,optional"`
	TLSServerName string    `hcl:"tls_server_name,optional"`
	DefRange      hcl.Range `hcl:",def_range"`
}

type rawLabel struct {
	Name     string    `hcl:"name,label"`
	DefRange hcl.Range `hcl:",def_range"`
}

type rawScratch struct {
	Consul   string `hcl:"consul,optional"`
	Etcd     string `hcl:"etcd,optional"`
	Etcdutl  string `hcl:"etcdutl,optional"`
	Nomad    string `hcl:"nomad,optional"`
	Vault    string `hcl:"vault,optional"`
	Artifact string `hcl:"artifact,optional"`
	Image    string `hcl:"image,optional"`
	// A command backup's scratch server.
	Init  *hcl.Attribute `hcl:"init,optional"`
	Start *hcl.Attribute `hcl:"start,optional"`
	Ready *hcl.Attribute `hcl:"ready,optional"`
	Env   *hcl.Attribute `hcl:"env,optional"`
	User  string         `hcl:"user,optional"`
	// RestoreFirst restores before the server starts (Redis's RDB).
	RestoreFirst bool      `hcl:"restore_first,optional"`
	DefRange     hcl.Range `hcl:",def_range"`
}

// rawAssert is one check of a command backup's drill.
type rawAssert struct {
	Name     string         `hcl:"name,label"`
	Command  *hcl.Attribute `hcl:"command"`
	Expect   *string        `hcl:"expect,optional"`
	Match    *hcl.Attribute `hcl:"match,optional"`
	Min      *int64         `hcl:"min,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawKey struct {
	Key      string    `hcl:"key,label"`
	Value    *string   `hcl:"value,optional"`
	DefRange hcl.Range `hcl:",def_range"`
}

type rawPrefix struct {
	Prefix   string         `hcl:"prefix,label"`
	MinKeys  *hcl.Attribute `hcl:"min_keys"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawIndex struct {
	Pattern  string         `hcl:"pattern,label"`
	MinDocs  *hcl.Attribute `hcl:"min_docs"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawNomad struct {
	Address       *string         `hcl:"address,optional"`
	CAFile        string          `hcl:"ca_file,optional"`
	CAPath        string          `hcl:"ca_path,optional"`
	CertFile      string          `hcl:"cert_file,optional"`
	KeyFile       string          `hcl:"key_file,optional"`
	TLSServerName string          `hcl:"tls_server_name,optional"`
	Datacenters   *[]string       `hcl:"datacenters,optional"`
	Region        *string         `hcl:"region,optional"`
	Namespace     *string         `hcl:"namespace,optional"`
	NodePool      *string         `hcl:"node_pool,optional"`
	Priority      *hcl.Attribute  `hcl:"priority,optional"`
	Constraints   []rawConstraint `hcl:"constraint,block"`
	Driver        *hcl.Attribute  `hcl:"driver,optional"`
	Image         *string         `hcl:"image,optional"`
	Artifact      *hcl.Attribute  `hcl:"artifact,optional"`
	// ArtifactChecksum is go-getter's "TYPE:HEX", checked by Nomad.
	ArtifactChecksum *hcl.Attribute `hcl:"artifact_checksum,optional"`
	Binary           *string        `hcl:"binary,optional"`
	Resources        *rawResources  `hcl:"resources,block"`
	Vault            *rawNomadVault `hcl:"vault,block"`
	Consul           *struct{}      `hcl:"consul,block"`
	// NetworkMode is the docker driver's network_mode.
	NetworkMode *hcl.Attribute `hcl:"network_mode,optional"`
	// Env is added to the task's environment (never secrets).
	Env         *hcl.Attribute   `hcl:"env,optional"`
	HostVolumes []rawNomadVolume `hcl:"host_volume,block"`
	DefRange    hcl.Range        `hcl:",def_range"`
}

// rawNomadVolume mounts a Nomad client's host volume into the task: the
// files it reads (a CA, client certificates) under exec and docker.
type rawNomadVolume struct {
	Name     string    `hcl:"name,label"`
	Path     string    `hcl:"path"`
	ReadOnly *bool     `hcl:"read_only,optional"`
	DefRange hcl.Range `hcl:",def_range"`
}

type rawConstraint struct {
	Attribute string `hcl:"attribute,optional"`
	Operator  string `hcl:"operator,optional"`
	Value     string `hcl:"value,optional"`
}

type rawResources struct {
	CPU    *int `hcl:"cpu,optional"`
	Memory *int `hcl:"memory,optional"`
}

type rawNomadVault struct {
	Role string `hcl:"role,optional"`
}

type rawTelemetry struct {
	StatsdAddress           string         `hcl:"statsd_address,optional"`
	DogStatsdAddress        string         `hcl:"dogstatsd_address,optional"`
	DogStatsdTags           []string       `hcl:"dogstatsd_tags,optional"`
	PrometheusRetentionTime *hcl.Attribute `hcl:"prometheus_retention_time,optional"`
}

type rawServe struct {
	Address string `hcl:"address,optional"`
	Count   *int   `hcl:"count,optional"`
	Node    string `hcl:"node,optional"`
}
