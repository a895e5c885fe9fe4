package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// VaultRaft backs up a Vault cluster's integrated storage through
// sys/storage/raft/snapshot, from the active node only.
type VaultRaft struct {
	src    config.VaultSource
	client *vault.Client
}

var (
	_ Target   = (*VaultRaft)(nil)
	_ Checker  = (*VaultRaft)(nil)
	_ Verifier = (*VaultRaft)(nil)
)

// VaultRaftNeed is the policy rule a vault_raft run's token needs, as
// vigil setup writes it.
const VaultRaftNeed = `"read" on sys/storage/raft/snapshot`

// NewVaultRaft returns the target for src; to, when set, replaces its
// address. The token is the environment's (VAULT_TOKEN: inside Nomad, the
// task's), as the vault CLI takes it, unless token is set.
func NewVaultRaft(src config.VaultSource, to, token string) (*VaultRaft, error) {
	if to != "" {
		src.Address = to
	}
	cfg, err := VaultConfig(src.Address, src.TLS, SpecOverEnv)
	if err != nil {
		return nil, err
	}
	// A snapshot streams for as long as it takes; the run's deadline
	// bounds it, not the client's default 60 s.
	cfg.Timeout = 0
	c, err := vault.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault: client for %s: %w", cfg.Address, err)
	}
	if token != "" {
		c.SetToken(token)
	}
	return &VaultRaft{src: src, client: c}, nil
}

// active returns a client of the active node: the configured address when
// it is active, else the leader it names. A standby's answer (a sealed or
// lagging node) is never stored.
func (t *VaultRaft) active(ctx context.Context) (*vault.Client, string, error) {
	addr := t.client.Address()
	l, err := t.client.Sys().LeaderWithContext(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("vault: leader of %s: %w", addr, err)
	}
	if l.IsSelf {
		return t.client, addr, nil
	}
	if l.LeaderAddress == "" {
		return nil, "", fmt.Errorf("vault: %s is not the active node and knows no leader (sealed, or no raft leader)", addr)
	}
	c, err := t.client.Clone()
	if err != nil {
		return nil, "", err
	}
	if err := c.SetAddress(l.LeaderAddress); err != nil {
		return nil, "", fmt.Errorf("vault: leader address %s: %w", l.LeaderAddress, err)
	}
	c.SetToken(t.client.Token())
	again, err := c.Sys().LeaderWithContext(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("vault: leader %s: %w", l.LeaderAddress, err)
	}
	if !again.IsSelf {
		return nil, "", fmt.Errorf("vault: %s named %s as the active node, which says it is not", addr, l.LeaderAddress)
	}
	return c, l.LeaderAddress, nil
}

// Snapshot streams the active node's raft snapshot into w and proves the
// archive whole as the bytes pass (readRaftArchive: meta.json, state.bin
// and their SHA256SUMS; Vault's own check that SHA256SUMS.sealed is there
// and not empty). A stream that ends early fails as incomplete.
func (t *VaultRaft) Snapshot(ctx context.Context, w io.Writer, opts SnapshotOptions) (Source, error) {
	c, node, err := t.active(ctx)
	if err != nil {
		return nil, err
	}
	check := newArchiveTee()
	err = c.Sys().RaftSnapshotWithContext(ctx, io.MultiWriter(w, check))
	if errors.Is(err, vault.ErrIncompleteSnapshot) {
		err = fmt.Errorf("%w: %v", ErrIncomplete, err)
	}
	a, cerr := check.finish(err)
	if err != nil {
		return nil, fmt.Errorf("vault: raft snapshot of %s: %w", node, vaultDenied(err, VaultRaftNeed))
	}
	if cerr != nil {
		return nil, fmt.Errorf("vault: raft snapshot of %s: %w", node, cerr)
	}
	if !a.Sealed {
		return nil, fmt.Errorf("vault: raft snapshot of %s: %w: SHA256SUMS.sealed is missing", node, ErrIncomplete)
	}
	if a.StateSize == 0 && !opts.AllowEmpty {
		return nil, fmt.Errorf("vault: raft snapshot of %s: %w: state.bin is empty", node, ErrEmpty)
	}
	src := Source{"node": node, "raft_index": fmt.Sprint(a.Meta.Index), "raft_term": fmt.Sprint(a.Meta.Term), "state_bytes": fmt.Sprint(a.StateSize)}
	if h, err := c.Sys().HealthWithContext(ctx); err == nil {
		src["cluster_name"], src["vault_version"] = h.ClusterName, h.Version
	}
	return src, nil
}

// RestoresWhole implements WholeRestorer: Vault writes the whole
// snapshot to a temporary file and checks its sums before it installs it
// (WriteSnapshotToTemp).
func (t *VaultRaft) RestoresWhole() bool { return true }

// Restore posts the snapshot to sys/storage/raft/snapshot, replacing the
// cluster's whole state; with opts.Force, to snapshot-force, for a cluster
// whose unseal keys differ from the snapshot's.
func (t *VaultRaft) Restore(ctx context.Context, r io.Reader, opts RestoreOptions) error {
	c, node, err := t.active(ctx)
	if err != nil {
		return err
	}
	if err := c.Sys().RaftSnapshotRestoreWithContext(ctx, r, opts.Force); err != nil {
		return fmt.Errorf("vault: raft snapshot restore into %s: %w", node, err)
	}
	return nil
}

// CheckOffline checks a raft snapshot archive's own sums.
func (t *VaultRaft) CheckOffline(_ context.Context, r io.Reader) error {
	a, err := readRaftArchive(r)
	if err != nil {
		return fmt.Errorf("vault: snapshot archive: %w", err)
	}
	if !a.Sealed {
		return fmt.Errorf("vault: snapshot archive: %w: SHA256SUMS.sealed is missing", ErrIncomplete)
	}
	return nil
}

// vaultDenied names the policy rule a 403 needed.
func vaultDenied(err error, need string) error {
	var re *vault.ResponseError
	if errors.As(err, &re) && re.StatusCode == 403 || err != nil && strings.Contains(err.Error(), "Code: 403") {
		return fmt.Errorf("the token lacks %s (403; vigil setup prints the policy): %w", need, err)
	}
	return err
}
