package plugin

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin/scratch"
)

// Verify drills a Vault snapshot. The archive's own sums are always
// checked (the caller's CheckOffline did it as the object arrived; the
// archive is read again here from the local copy for its figures). When the
// spec says how the restored data unseals, the snapshot is restored into a
// scratch single-node raft Vault the drill starts, unsealed with the
// production cluster's keys (or its transit seal), and the mount and
// secret assertions run there with a root token generated from those keys.
// The scratch server and its folder go on every path.
func (t *VaultRaft) Verify(ctx context.Context, r io.Reader, v *config.Verify, o VerifyOptions) (*VerifyResult, error) {
	meta, err := archiveOf(o.Path, r)
	if err != nil {
		return nil, fmt.Errorf("drill: %w", err)
	}
	res := &VerifyResult{
		Values: map[string]any{"raft_index": meta.Meta.Index, "state_bytes": meta.StateSize},
		Checks: []Check{{Name: "archive", Passed: true, Detail: fmt.Sprintf("SHA256SUMS of meta.json and state.bin match, SHA256SUMS.sealed present (raft index %d)", meta.Meta.Index)}},
	}
	if !v.Vault.Unseals() {
		return res, nil
	}
	if o.Path == "" {
		return nil, fmt.Errorf("drill: a Vault restore needs the local copy of the snapshot")
	}
	c, stop, err := scratchVault(ctx, v.Vault, o)
	if err != nil {
		return nil, err
	}
	defer stop()
	f, err := os.Open(o.Path)
	if err != nil {
		return nil, fmt.Errorf("drill: %w", err)
	}
	defer f.Close()
	if err := c.Sys().RaftSnapshotRestoreWithContext(ctx, f, true); err != nil {
		return nil, fmt.Errorf("drill: restore into the scratch vault: %w", err)
	}
	if err := unsealRestored(ctx, c, v.Vault); err != nil {
		return nil, err
	}
	keysFile := v.Vault.UnsealKeysFile
	if v.Vault.Transit != nil {
		keysFile = v.Vault.RecoveryKeysFile
	}
	keys, err := ReadKeysFile(keysFile)
	if err != nil {
		return nil, fmt.Errorf("drill: %w", err)
	}
	root, err := RootToken(ctx, c, keys)
	if err != nil {
		return nil, fmt.Errorf("drill: a token on the restored copy: %w", err)
	}
	c.SetToken(root)
	return assertVault(ctx, c, v.Vault, res)
}

// archiveOf reads the archive's figures from the local copy, or from r.
func archiveOf(path string, r io.Reader) (*raftArchive, error) {
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	return readRaftArchive(r)
}

// scratchVault starts a single-node raft Vault the drill owns, initialises
// and unseals it with throwaway keys (with the production transit seal,
// when the spec gives one), and returns a client holding its root token.
func scratchVault(ctx context.Context, d *config.VaultDrill, o VerifyOptions) (*vault.Client, func(), error) {
	bin, err := scratchBinary("vault", scratchOf(o).Vault)
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp(o.TempDir, "vigil-drill-vault-")
	if err != nil {
		return nil, nil, fmt.Errorf("drill: %w", err)
	}
	opts := scratch.VaultOptions{}
	if tr := d.Transit; tr != nil {
		// Vault's transit seal takes its token from VAULT_TOKEN, which in
		// the drill's environment is the run's own: the seal's comes in
		// VAULT_TRANSIT_SEAL_TOKEN.
		opts.SealHCL, opts.Env = transitStanza(tr), []string{"VAULT_TOKEN=" + os.Getenv("VAULT_TRANSIT_SEAL_TOKEN")}
	}
	p, addr, err := scratch.VaultRaft(ctx, bin, dir, "vigil-drill", opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("drill: scratch vault: %w", err)
	}
	stop := func() {
		p.Stop(10 * time.Second)
		os.RemoveAll(dir)
	}
	c, err := vault.NewClient(&vault.Config{Address: addr, Timeout: time.Minute})
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("drill: scratch vault client: %w", err)
	}
	// NewClient reads VAULT_TOKEN and VAULT_NAMESPACE: the production
	// cluster's, never the scratch server's.
	c.ClearToken()
	c.ClearNamespace()
	init, err := InitVault(ctx, c, d.Transit != nil)
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("drill: scratch %w", err)
	}
	c.SetToken(init.RootToken)
	return c, stop, nil
}

// transitStanza is Vault's seal "transit" stanza for the scratch server;
// its token is given in the server's environment.
func transitStanza(tr *config.TransitSeal) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seal \"transit\" {\n  address = %q\n  key_name = %q\n  mount_path = %q\n", tr.Address, tr.KeyName, tr.MountPath)
	if tr.Namespace != "" {
		fmt.Fprintf(&b, "  namespace = %q\n", tr.Namespace)
	}
	if t := tr.TLS; t != nil {
		for k, v := range map[string]string{"tls_ca_cert": t.CAFile, "tls_client_cert": t.CertFile, "tls_client_key": t.KeyFile, "tls_server_name": t.ServerName} {
			if v != "" {
				fmt.Fprintf(&b, "  %s = %q\n", k, v)
			}
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// unsealRestored brings the restored copy back: a snapshot of another
// cluster leaves the scratch server sealed under that cluster's keys
// (Shamir) or unsealed through the shared transit seal.
func unsealRestored(ctx context.Context, c *vault.Client, d *config.VaultDrill) error {
	deadline, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if d.UnsealKeysFile != "" {
		for {
			st, err := c.Sys().SealStatusWithContext(deadline)
			if err == nil && st.Sealed {
				keys, err := ReadKeysFile(d.UnsealKeysFile)
				if err != nil {
					return fmt.Errorf("drill: %w", err)
				}
				if err := Unseal(deadline, c, keys); err != nil {
					return fmt.Errorf("drill: the restored copy: %w", err)
				}
				break
			}
			if deadline.Err() != nil {
				return fmt.Errorf("drill: the restored copy did not seal for its own keys: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if err := WaitActive(deadline, c); err != nil {
		return fmt.Errorf("drill: the restored copy: %w", err)
	}
	return nil
}

// assertVault runs the mount and secret assertions. Secret values are
// never read into a detail.
func assertVault(ctx context.Context, c *vault.Client, d *config.VaultDrill, res *VerifyResult) (*VerifyResult, error) {
	mounts, err := c.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("drill: list mounts of the restored copy: %w", err)
	}
	res.Values["mounts"] = len(mounts)
	for _, m := range d.Mounts {
		want := strings.TrimSuffix(m, "/") + "/"
		_, ok := mounts[want]
		chk := Check{Name: "mount " + want, Passed: ok, Detail: fmt.Sprintf("mount %s present", want)}
		if !ok {
			chk.Detail = fmt.Sprintf("mount %s missing (restored %d mounts)", want, len(mounts))
		}
		res.Checks = append(res.Checks, chk)
	}
	for _, p := range d.Secrets {
		s, err := c.Logical().ReadWithContext(ctx, p)
		ok := err == nil && s != nil && s.Data != nil
		chk := Check{Name: "secret " + p, Passed: ok, Detail: fmt.Sprintf("secret %s readable", p)}
		if !ok {
			chk.Detail = fmt.Sprintf("secret %s not readable in the restored copy", p)
			if err != nil {
				chk.Detail += ": " + err.Error()
			}
		}
		res.Checks = append(res.Checks, chk)
	}
	return res, nil
}
