package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/plugin/scratch"
)

// nomadSnapshot: vigil's nomad_snapshot against `nomad operator snapshot
// save` plus upload, over a Nomad server holding about nomad-mib MiB of
// variables (random, so the state does not compress).
func (b *bench) nomadSnapshot(ctx context.Context) error {
	fmt.Printf("== nomad_snapshot %d MiB: filling\n", *nomadMiB)
	bin, err := harness.Tool("nomad")
	if err != nil {
		return err
	}
	dir := filepath.Join(b.dir, "nomad")
	p, addr, err := scratch.NomadServer(ctx, bin, dir, "nomad-bench", "", nil)
	if err != nil {
		return err
	}
	defer p.Stop(10 * time.Second)
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + addr, Region: "global"})
	if err != nil {
		return err
	}
	start := time.Now()
	for i := 0; i < *nomadMiB*20; i++ { // 48 KiB of base64 each
		v := &nomad.Variable{Path: fmt.Sprintf("bench/v%05d", i), Items: nomad.VariableItems{"pad": randomText(36 << 10)}}
		for {
			_, _, err := c.Variables().Create(v, nil)
			if err == nil {
				break
			}
			// A new server's keyring is ready a moment after its leader.
			if !strings.Contains(err.Error(), "keyring") || time.Since(start) > time.Minute {
				return fmt.Errorf("fill: %w", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	fmt.Printf("   filled in %.1fs\n", time.Since(start).Seconds())
	spec, err := b.spec("nomad", fmt.Sprintf(`
backup "nomad_snapshot" "nomad" {
  schedule    = "0 * * * *"
  storage     = storage.s3.minio
  compression = "none"
  nomad { address = "http://%s" }
  retain { last = 1 }
}
`, addr))
	if err != nil {
		return err
	}
	file := filepath.Join(b.dir, "nomad.snap")
	env := append(b.env(), "NOMAD_ADDR=http://"+addr)
	save := func() (sample, error) {
		os.Remove(file) // nomad refuses to overwrite
		return measure(env, bin, "operator", "snapshot", "save", file)
	}
	row, err := b.snapshotRow(ctx, "nomad_snapshot", *nomadMiB, file, save, b.sourceAlone(env, "nomad", "http://"+addr), spec, "nomad", b.env())
	if err != nil {
		return err
	}
	ready := settle(func() error { _, _, err := c.Variables().Peek("bench/v00000", nil); return err })
	restore := toolRestore{env: env, bin: bin, cleanup: ready, args: func(f string) []string { return []string{"operator", "snapshot", "restore", f} }}
	return b.restoreAgainstTwoStep(row, *nomadMiB, spec, "nomad", b.env(), []string{"-auto-approve", "-to", "http://" + addr}, restore, 0.8)
}

// vaultRaft: vigil's vault_raft against `vault operator raft snapshot
// save` plus upload, over a raft Vault holding about vault-mib MiB of KV
// secrets (encrypted by Vault's barrier, so they do not compress).
func (b *bench) vaultRaft(ctx context.Context) error {
	fmt.Printf("== vault_raft %d MiB: filling\n", *vaultMiB)
	bin, err := harness.Tool("vault")
	if err != nil {
		return err
	}
	dir := filepath.Join(b.dir, "vault")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	p, api, err := scratch.VaultRaft(ctx, bin, dir, "vault-bench", scratch.VaultOptions{})
	if err != nil {
		return err
	}
	defer p.Stop(10 * time.Second)
	c, err := vault.NewClient(&vault.Config{Address: api})
	if err != nil {
		return err
	}
	c.ClearToken()
	init, err := plugin.InitVault(ctx, c, false)
	if err != nil {
		return err
	}
	c.SetToken(init.RootToken)
	if err := c.Sys().Mount("kv", &vault.MountInput{Type: "kv"}); err != nil {
		return err
	}
	start := time.Now()
	for i := 0; i < *vaultMiB*16; i++ {
		if _, err := c.Logical().Write(fmt.Sprintf("kv/bench/s%05d", i), map[string]any{"pad": randomText(48 << 10)}); err != nil {
			return fmt.Errorf("fill: %w", err)
		}
	}
	fmt.Printf("   filled in %.1fs\n", time.Since(start).Seconds())
	spec, err := b.spec("vault", fmt.Sprintf(`
backup "vault_raft" "vault" {
  schedule    = "0 * * * *"
  storage     = storage.s3.minio
  compression = "none"
  vault { address = %q }
  retain { last = 1 }
}
`, api))
	if err != nil {
		return err
	}
	file := filepath.Join(b.dir, "vault.snap")
	env := append(b.env(), "VAULT_ADDR="+api, "VAULT_TOKEN="+init.RootToken)
	save := func() (sample, error) {
		os.Remove(file) // vault refuses to overwrite
		return measure(env, bin, "operator", "raft", "snapshot", "save", file)
	}
	row, err := b.snapshotRow(ctx, "vault_raft", *vaultMiB, file, save, b.sourceAlone(env, "vault", api), spec, "vault", env)
	if err != nil {
		return err
	}
	// Vault answers again a few seconds after a restore: each restore,
	// vigil's or the CLI's, waits for that outside its time, as an
	// operator would before the next.
	ready := settle(func() error { _, err := c.Logical().ReadWithContext(ctx, "kv/bench/s00000"); return err })
	restore := toolRestore{env: env, bin: bin, cleanup: ready, args: func(f string) []string { return []string{"operator", "raft", "snapshot", "restore", f} }}
	return b.restoreAgainstTwoStep(row, *vaultMiB, spec, "vault", env, []string{"-auto-approve", "-to", api}, restore, 0.8)
}

// snapshotRow compares (a) a raw upload of the saved file, (b) save then
// upload, (c) vigil run, and adds the row; it returns the row's name.
func (b *bench) snapshotRow(ctx context.Context, typ string, size int, file string, save func() (sample, error), source variant, spec, backup string, vigilEnv []string) (string, error) {
	if _, err := save(); err != nil { // the file the raw upload sends
		return "", err
	}
	st, err := os.Stat(file)
	if err != nil {
		return "", err
	}
	res, err := compare(append(b.baselines(file, typ, save), source, variant{"c", func() (sample, error) { return measure(vigilEnv, b.vigil, "run", "-config", spec, "-backup", backup) }}))
	if err != nil {
		return "", err
	}
	row := fmt.Sprintf("%s (%s)", typ, mib(st.Size()))
	b.addRow(row, size, res)
	b.limitRow(row, res, "c")
	return row, nil
}

// randomText is n random bytes as base64: values stores keep as text.
func randomText(n int) string {
	buf := make([]byte, n)
	rand.Read(buf)
	return base64.StdEncoding.EncodeToString(buf)
}
