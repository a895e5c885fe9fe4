package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// NomadSnapshot backs up a Nomad cluster's state through
// /v1/operator/snapshot, the data of `nomad operator snapshot save`.
type NomadSnapshot struct {
	src    config.NomadSource
	client *nomad.Client
}

var (
	_ Target   = (*NomadSnapshot)(nil)
	_ Checker  = (*NomadSnapshot)(nil)
	_ Verifier = (*NomadSnapshot)(nil)
)

// NomadSnapshotNeed is what a nomad_snapshot run's token must allow, said
// in the words of a 403.
const NomadSnapshotNeed = `the operator capability "snapshot-save" (Nomad 1.11.3 and later; a management token before)`

// NomadConfig starts from the environment (NOMAD_ADDR, NOMAD_REGION,
// NOMAD_TOKEN, NOMAD_CACERT...) as the nomad CLI does, and applies the
// spec block's settings on top; token, when set, is the run's own.
func NomadConfig(src config.NomadSource, token string) *nomad.Config {
	cfg := nomad.DefaultConfig()
	SetIf(&cfg.Address, src.Address)
	SetIf(&cfg.Region, src.Region)
	if t := src.TLS; t != nil {
		SetIf(&cfg.TLSConfig.CACert, t.CAFile)
		SetIf(&cfg.TLSConfig.CAPath, t.CAPath)
		SetIf(&cfg.TLSConfig.ClientCert, t.CertFile)
		SetIf(&cfg.TLSConfig.ClientKey, t.KeyFile)
		SetIf(&cfg.TLSConfig.TLSServerName, t.ServerName)
	}
	SetIf(&cfg.SecretID, token)
	return cfg
}

// NewNomadSnapshot returns the target for src; to, when set, replaces its
// address, and token, when set, is the run's own Nomad token.
func NewNomadSnapshot(src config.NomadSource, to, token string) (*NomadSnapshot, error) {
	if to != "" {
		src.Address = to
	}
	cfg := NomadConfig(src, token)
	c, err := nomad.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("nomad: client for %s: %w", cfg.Address, err)
	}
	return &NomadSnapshot{src: src, client: c}, nil
}

// Snapshot streams the cluster's snapshot into w. The Nomad client checks
// the answer against its Digest header as the bytes pass, and the archive
// is proven whole as well (readRaftArchive): a stream that ends early, even
// cleanly, fails before any manifest. Without stale, the leader answers.
func (t *NomadSnapshot) Snapshot(ctx context.Context, w io.Writer, opts SnapshotOptions) (Source, error) {
	q := (&nomad.QueryOptions{AllowStale: t.src.Stale}).WithContext(ctx)
	rc, err := t.client.Operator().Snapshot(q)
	if err != nil {
		return nil, fmt.Errorf("nomad: snapshot save: %w", nomadDenied(err))
	}
	defer rc.Close()
	check := newArchiveTee()
	_, err = io.Copy(io.MultiWriter(w, check), rc)
	if err != nil && strings.Contains(err.Error(), "checksum") {
		err = fmt.Errorf("%w: the answer does not match its Digest header: %v", ErrIncomplete, err)
	}
	a, cerr := check.finish(err)
	if cerr != nil && (err == nil || errors.Is(err, ErrIncomplete)) {
		return nil, fmt.Errorf("nomad: snapshot save: %w", cerr)
	}
	if err != nil {
		return nil, fmt.Errorf("nomad: snapshot save: stream: %w", err)
	}
	if a.StateSize == 0 && !opts.AllowEmpty {
		return nil, fmt.Errorf("nomad: snapshot save: %w: state.bin is empty", ErrEmpty)
	}
	src := Source{"raft_index": fmt.Sprint(a.Meta.Index), "raft_term": fmt.Sprint(a.Meta.Term), "state_bytes": fmt.Sprint(a.StateSize)}
	if r, err := t.client.Agent().Region(); err == nil && r != "" {
		src["region"] = r
	}
	return src, nil
}

// RestoresWhole implements WholeRestorer: Nomad spools and checks the
// whole archive first (helper/snapshot.Read).
func (t *NomadSnapshot) RestoresWhole() bool { return true }

// Restore sends the snapshot to /v1/operator/snapshot, replacing the whole
// cluster state (a management token's operation).
func (t *NomadSnapshot) Restore(ctx context.Context, r io.Reader, _ RestoreOptions) error {
	if _, err := t.client.Operator().SnapshotRestore(r, (&nomad.WriteOptions{}).WithContext(ctx)); err != nil {
		return fmt.Errorf("nomad: snapshot restore: %w", err)
	}
	return nil
}

// CheckOffline checks the archive's own sums.
func (t *NomadSnapshot) CheckOffline(_ context.Context, r io.Reader) error {
	if _, err := readRaftArchive(r); err != nil {
		return fmt.Errorf("nomad: snapshot archive: %w", err)
	}
	return nil
}

// nomadDenied names what a refused snapshot needs.
func nomadDenied(err error) error {
	if err != nil && strings.Contains(err.Error(), "403") {
		return fmt.Errorf("token lacks %s (403): %w", NomadSnapshotNeed, err)
	}
	return err
}
