// Package plugin holds the targets vigil backs up: Consul (raft snapshot
// and KV), etcd and Elasticsearch. Each implements Target.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
)

// Source identifies what a snapshot was taken of, for the manifest:
// Consul's datacenter and raft index, etcd's cluster, member and revision.
type Source map[string]string

// ErrEmpty marks a backup that holds nothing (0 keys, 0 shards): most
// likely a mistyped prefix or index pattern, which would otherwise be green
// forever. A spec allows it with allow_empty = true.
var ErrEmpty = errors.New("the backup is empty (allow_empty = true accepts that)")

// Target is one system vigil backs up.
//
// Error contract:
//   - Snapshot writes one complete, consistent snapshot to w and returns
//     nil only once the whole stream has been written and proven whole in
//     the target's own format (a checksum trailer, an archive's sums, a
//     closing bracket and a key count). A stream that is not whole fails
//     with an error wrapping ErrIncomplete; one that holds nothing fails
//     with ErrEmpty unless opts.AllowEmpty. On error w may have received a
//     prefix, which the caller must discard.
//   - Restore reads a complete snapshot as Snapshot wrote it (after
//     decompression) and returns an error when the target refused it or the
//     stream was short. It never reads past what it needs.
//   - Errors read "component: op target: cause" and never carry secrets.
type Target interface {
	Snapshot(ctx context.Context, w io.Writer, opts SnapshotOptions) (Source, error)
	Restore(ctx context.Context, r io.Reader, opts RestoreOptions) error
}

// WholeRestorer is implemented by targets whose server takes a restore
// whole before it applies any of it: Consul's and Nomad's snapshot
// restore (snapshot.Read spools the archive to a file, checks its
// SHA256SUMS and reads the gzip stream to its end, concludeGzipRead) and
// Vault's (WriteSnapshotToTemp does the same). A body cut short restores
// nothing, so a restore may stream the backup straight in and let the
// checked reader withhold the last bytes of an object that is not what
// its manifest says, instead of reading the object once more beforehand.
// A target that applies as it reads (consul_kv's transactions, a command's
// stdin) is not one.
type WholeRestorer interface {
	Target
	// RestoresWhole reports that a body that ends early or fails restores
	// nothing.
	RestoresWhole() bool
}

var (
	_ WholeRestorer = (*ConsulSnapshot)(nil)
	_ WholeRestorer = (*NomadSnapshot)(nil)
	_ WholeRestorer = (*VaultRaft)(nil)
)

// StreamDigest is a running sha256 of exactly the bytes a target writes to
// its stream, which the pipeline computes anyway for the manifest. A
// target whose format ends in its own checksum (etcd's trailing sha256)
// can check it from here instead of hashing every byte a second time.
type StreamDigest interface {
	// Written is the number of bytes written so far.
	Written() int64
	// SumExcept returns the sha256 of all bytes written but the last n
	// (n at most 32), and those last n bytes.
	SumExcept(n int) (sum, tail []byte)
}

// SnapshotOptions name the backup being taken.
type SnapshotOptions struct {
	// Digest, when set, hashes what the target writes (see StreamDigest).
	Digest StreamDigest
	// ID is the backup's ID (its manifest's); targets that name snapshots
	// themselves (Elasticsearch) derive the name from it.
	ID string
	// Version is the vigil version, recorded where the target keeps metadata.
	Version string
	// AllowEmpty accepts a backup that holds nothing (allow_empty = true).
	AllowEmpty bool
	// Log receives what the target's own tools print (a dump command's
	// stderr); nil discards it.
	Log hclog.Logger
}

// RestoreOptions tune a restore.
type RestoreOptions struct {
	// To overrides the target address from the spec (vigil restore -to).
	To string
	// Mode is "merge" (default) or "replace" for consul_kv.
	Mode string
	// Force restores a vault_raft snapshot into a cluster whose unseal
	// keys differ from the snapshot's (snapshot-force).
	Force bool
	// OutFile is where an etcd restore writes the db file.
	OutFile string
	// DataDir, when set, makes an etcd restore run `etcdutl snapshot
	// restore` into it.
	DataDir string
	// Etcdutl is the etcdutl binary; "" looks it up on PATH.
	Etcdutl string
	// Digest, when set, is a running sha256 of exactly the bytes the
	// restore reads (see StreamDigest).
	Digest StreamDigest
	// RenamePattern and RenameReplacement rename restored Elasticsearch
	// indices (regular expression and replacement, as ES takes them).
	RenamePattern     string
	RenameReplacement string
	// Out receives what the operator should read (the etcdutl command, the
	// restored indices).
	Out io.Writer
	// Progress, when set, shows restore progress (a terminal).
	Progress io.Writer
	Log      hclog.Logger
}

// DrillsInPlace is config.DrillsInPlace: the rights vigil setup grants a
// drill job follow from it.
func DrillsInPlace(typ string) bool { return config.DrillsInPlace(typ) }

// ReplacesState reports whether restoring a type replaces a cluster's
// whole state, which vigil restore confirms first.
func ReplacesState(typ string) bool {
	return typ == config.TypeConsulSnapshot || typ == config.TypeNomadSnapshot || typ == config.TypeVaultRaft
}

// KeepsRepository reports whether a type keeps its data in its own
// repository (Elasticsearch), which retention must reach too.
func KeepsRepository(typ string) bool { return typ == config.TypeElasticsearch }

// Extension is the data object's file extension for a backup type, before
// any compression suffix.
func Extension(typ string) string {
	switch typ {
	case config.TypeConsulSnapshot:
		return ".snap"
	case config.TypeConsulKV:
		return ".json"
	case config.TypeEtcd:
		return ".db"
	case config.TypeElasticsearch:
		return ".es.json"
	case config.TypeNomadSnapshot, config.TypeVaultRaft:
		return ".snap"
	case config.TypeCommand:
		return ".dump"
	}
	return ""
}

// New returns the target of a backup. to, when set, replaces the address
// from the spec (restores into another server); sec, when set, are the
// run's own credentials for it.
func New(b *config.Backup, to string, sec *Secrets) (Target, error) {
	if sec == nil {
		sec = &Secrets{}
	}
	switch b.Type {
	case config.TypeConsulSnapshot, config.TypeConsulKV:
		src := config.ConsulSource{}
		if b.Consul != nil {
			src = *b.Consul
		}
		if to != "" {
			src.Address = to
		}
		if b.Type == config.TypeConsulSnapshot {
			return NewConsulSnapshot(src, sec.ConsulToken)
		}
		return NewConsulKV(src, sec.ConsulToken)
	case config.TypeEtcd:
		src := *b.Etcd
		if to != "" {
			src.Endpoints = []string{to}
		}
		return NewEtcd(src, sec.Certificate), nil
	case config.TypeElasticsearch:
		return NewElasticsearch(b.Name, *b.Elasticsearch, to, sec)
	case config.TypeNomadSnapshot:
		src := config.NomadSource{}
		if b.NomadCluster != nil {
			src = *b.NomadCluster
		}
		return NewNomadSnapshot(src, to, sec.NomadToken)
	case config.TypeVaultRaft:
		src := config.VaultSource{}
		if b.VaultCluster != nil {
			src = *b.VaultCluster
		}
		return NewVaultRaft(src, to, sec.VaultToken)
	case config.TypeCommand:
		return NewCommand(b.Name, *b.Command, to, sec)
	}
	return nil, fmt.Errorf("plugin: no target for backup type %q", b.Type)
}
