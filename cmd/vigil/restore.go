package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
)

// RestoreCommand restores a backup into its target or another one.
type RestoreCommand struct{ *Meta }

func (c *RestoreCommand) Synopsis() string { return "Restore a backup" }

func (c *RestoreCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil restore -backup NAME [-id ID | -latest] [-to ADDRESS] [options]

  Restores a backup. The object's size and sha256 are checked against its
  manifest before anything touches the target; on a mismatch the restore is
  refused.

    consul_snapshot  PUT /v1/snapshot (replaces the whole Consul state)
    nomad_snapshot   PUT /v1/operator/snapshot (replaces the whole Nomad
                     state: jobs, allocations, variables, ACLs; needs a
                     management token)
    vault_raft       POST sys/storage/raft/snapshot (replaces the whole
                     Vault state: secrets, mounts, policies, tokens; with
                     -force, snapshot-force, for a cluster with other
                     unseal keys, which then unseals with the snapshot's)
    consul_kv        imports the keys with transactions; -mode merge keeps
                     other keys, -mode replace deletes the prefix's keys the
                     backup lacks
    etcd             writes the db file (-out) and prints the etcdutl command;
                     with -data-dir it runs etcdutl snapshot restore itself
    elasticsearch    POST _snapshot/<repo>/<snapshot>/_restore, then waits for
                     recovery; -to restores into another cluster
    command          runs the spec's restore command with the backup on its
                     stdin (after the checks); its exit status decides. It
                     runs with the operator's environment (PGPASSWORD, say),
                     never the backup's read-only database user

  The chosen backup is named first (ID, age, size, drill verdict), with
  any newer backup -latest passed over and why: one that is not good, or
  whose drill failed. A restore that replaces a cluster's whole state
  (consul_snapshot, nomad_snapshot, vault_raft) then asks for
  confirmation; -auto-approve skips the question, for scripts.

Restore Options:

  -id ID       The backup ID (see vigil list); a unique prefix is enough.
  -latest      The newest backup (the default).
  -from NAME   Read the backup from this storage. By default a backup with
               several storages (storage = [a, b]) is read from the first
               that holds a good copy of the chosen backup, and the restore
               says which.
  -to ADDRESS  Restore into this address (Consul, Nomad, Vault) or etcd
               endpoint instead of the spec's. For a command backup,
               NAME=VALUE[,NAME=VALUE] settings that replace the spec's
               env for the restore command (PGHOST=db2,PGPORT=5433).
  -auto-approve
               Do not ask before replacing a cluster's state.
  -to-token-file FILE
               The token of the cluster restored into (Consul, Nomad,
               Vault), read from FILE, instead of its CLI's variable: for
               an encrypted vault_raft backup, VAULT_TOKEN is the token of
               the Vault whose Transit key decrypts it.
  -force       Restore a backup whose own latest drill failed (by -id;
               -latest passes such backups over and says so). vault_raft:
               also restore into a cluster whose unseal keys differ from
               the snapshot's (snapshot-force).
  -storage-env Read the store with the AWS credentials of the environment
               (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...) instead of the spec's
               Vault source: for disaster recovery, when that Vault is the
               one being restored.
  -mode MODE   consul_kv: merge (default) or replace.
  -out FILE    etcd: where to write the db file (default ./<ID>.db).
  -data-dir D  etcd: run etcdutl snapshot restore into D.
  -etcdutl P   etcd: the etcdutl binary (default: found on PATH).
  -rename-pattern P, -rename-replacement R
               elasticsearch: rename restored indices. Both go to
               Elasticsearch as they are: a Java regular expression and a
               Java replacement ("$1" is group 1, "$1_x" is group 1 then
               "_x", "\$" a dollar). The restored names printed are the
               ones Elasticsearch reports. Restore waits until every
               shard's recovery is DONE.
  -timeout D   Give up after D (default: the backup's timeout, at least 1h).

` + runtimeFlagsHelp)
}

func (c *RestoreCommand) Run(args []string) int {
	var rf runtimeFlags
	var opts tasks.RestoreOptions
	var latest, autoApprove, storageEnv bool
	fs := c.flagSet("restore")
	fs.BoolVar(&storageEnv, "storage-env", false, "")
	var tokenFile string
	fs.StringVar(&tokenFile, "to-token-file", "", "")
	fs.BoolVar(&autoApprove, "auto-approve", false, "")
	fs.BoolVar(&opts.Force, "force", false, "")
	rf.register(fs)
	fs.StringVar(&opts.ID, "id", "", "")
	fs.BoolVar(&latest, "latest", false, "")
	fs.StringVar(&opts.From, "from", "", "")
	fs.StringVar(&opts.To, "to", "", "")
	fs.StringVar(&opts.Mode, "mode", "merge", "")
	fs.StringVar(&opts.OutFile, "out", "", "")
	fs.StringVar(&opts.DataDir, "data-dir", "", "")
	fs.StringVar(&opts.Etcdutl, "etcdutl", "", "")
	fs.StringVar(&opts.RenamePattern, "rename-pattern", "", "")
	fs.StringVar(&opts.RenameReplacement, "rename-replacement", "", "")
	var timeout time.Duration
	fs.DurationVar(&timeout, "timeout", 0, "")
	_, b, d, ok := c.prepare(fs, &rf, args)
	if !ok {
		return exitFail
	}
	if latest && opts.ID != "" {
		c.errorf("restore: -id and -latest exclude each other")
		return exitFail
	}
	if opts.Mode != "merge" && opts.Mode != "replace" {
		c.errorf("restore: -mode must be merge or replace, got %q", opts.Mode)
		return exitFail
	}
	if tokenFile != "" {
		tok, err := os.ReadFile(tokenFile)
		if err != nil {
			c.errorf("restore: -to-token-file: %v", err)
			return exitFail
		}
		opts.ToToken = strings.TrimSpace(string(tok))
	}
	if storageEnv {
		b.Storage.Credentials = config.Credentials{Source: config.CredEnvironment}
		for i := range b.Copies {
			b.Copies[i].Credentials = config.Credentials{Source: config.CredEnvironment}
		}
	}
	// The chosen backup is named before anything is asked or touched.
	opts.Confirm = func(ch tasks.Choice) bool {
		describeChoice(c.Stdout, b.Name, ch, time.Now())
		if !plugin.ReplacesState(b.Type) || autoApprove {
			return true
		}
		to := opts.To
		if to == "" {
			to = "the cluster the spec names"
		}
		fmt.Fprintf(c.Stdout, "Restoring it replaces the whole state of %s (%s) with the backup's.", to, b.Type)
		return confirm(c.Stdin, c.Stdout)
	}
	opts.Out, opts.Log = c.Stdout, d.Log
	if p := c.progressOut(); p != nil {
		opts.Progress = p
		opts.RestoreOptions.Progress = p
	}
	if timeout <= 0 {
		timeout = max(b.Timeout, time.Hour)
	}
	applyMemoryLimit()
	ctx, stop := signalContext()
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := tasks.Restore(ctx, d, b, opts)
	if errors.Is(err, tasks.ErrCancelled) {
		c.errorf("restore: cancelled; nothing was changed (-auto-approve skips the question)")
		return exitFail
	}
	if err != nil {
		c.errorf("vigil: restore %s: %v", b.Name, err)
		c.errorf("%s", nextStep(b.Name, err, tasks.NewestVerifiedID(context.WithoutCancel(ctx), d, b, opts.ID)))
		return exitFail
	}
	fmt.Fprintf(c.Stdout, "restored %s backup %s (%s, %s verified)\n", b.Name, m.ID, record.HumanBytes(m.Size), checksumName(m))
	return exitOK
}

// describeChoice names the backup a restore or drill took, and what it
// passed over.
func describeChoice(w io.Writer, name string, ch tasks.Choice, now time.Time) {
	m := ch.Manifest
	fmt.Fprintf(w, "Backup %s/%s: taken %s (%s), %s, %s.\n", name, m.ID, m.FinishedAt.UTC().Format(time.RFC3339),
		ago(now.Sub(m.FinishedAt)), record.HumanBytes(m.Size), ch.Verdict.Line())
	if ch.From != "" {
		fmt.Fprintf(w, "  read from storage %s\n", ch.From)
	}
	for _, p := range ch.PassedOver {
		fmt.Fprintf(w, "  passed over newer %s\n", p)
	}
}

// nextStep is what to do after a failed restore or drill: see the
// backups, and take another by its ID (verified, when one is known).
func nextStep(name string, err error, verified string) string {
	step := fmt.Sprintf("Next: `vigil list -backup %s` shows each backup with its drill verdict; pick one with -id.", name)
	if verified != "" {
		step = fmt.Sprintf("Next: `vigil list -backup %s` shows each backup with its drill verdict; the newest verified one is -id %s.", name, verified)
	}
	if errors.Is(err, tasks.ErrDrillFailed) {
		step += " -force takes a backup whose drill failed."
	}
	return step
}

// checksumName names what proved a restored object: its sha256, or for
// an encrypted one its CRC32C with every segment authenticated.
func checksumName(m *manifest.Manifest) string {
	if m.CRC32C != "" {
		return "crc32c and every encrypted segment"
	}
	return "sha256"
}
