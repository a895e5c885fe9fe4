package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigil-backup/vigil/tasks"
)

// VerifyCommand runs a restore drill.
type VerifyCommand struct{ *Meta }

func (c *VerifyCommand) Synopsis() string {
	return "Restore a backup into a scratch target and check it"
}

func (c *VerifyCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil verify -backup NAME [-id ID | -latest] [options]

  Runs a restore drill: checks the backup's size and sha256 against its
  manifest and its own internal checksums, restores it into a scratch
  target the drill owns, runs the assertions of the backup's verify block,
  removes the scratch target, and records the result.

    elasticsearch  restores under a scratch prefix into the configured
                   cluster, counts documents, deletes the restored indices

  Exit status: 0 when every assertion held, 1 otherwise; the reason is
  printed in one line.

Verify Options:

  -id ID   The backup ID (see vigil list).
  -latest  The newest backup (the default).
  -from NAME
           Read the backup from this storage; by default, the first of
           the backup's storages that holds it whole.

` + runtimeFlagsHelp)
}

func (c *VerifyCommand) Run(args []string) int {
	var rf runtimeFlags
	var opts tasks.VerifyOptions
	var latest bool
	fs := c.flagSet("verify")
	rf.register(fs)
	fs.StringVar(&opts.ID, "id", "", "")
	fs.BoolVar(&latest, "latest", false, "")
	fs.StringVar(&opts.From, "from", "", "")
	cfg, b, d, ok := c.prepare(fs, &rf, args)
	if !ok {
		return exitFail
	}
	if latest && opts.ID != "" {
		c.errorf("verify: -id and -latest exclude each other")
		return exitFail
	}
	ctx, tel, done, ok := c.startRun(cfg)
	if !ok {
		return exitFail
	}
	defer done()
	d.Finished = tel.RunFinished
	run, err := tasks.Verify(ctx, d, b, opts)
	if err != nil {
		c.errorf("%v", err)
		failed := ""
		if run != nil && run.Verify != nil {
			failed = run.Verify.BackupID
		}
		c.errorf("%s", nextStep(b.Name, err, tasks.NewestVerifiedID(context.WithoutCancel(ctx), d, b, failed)))
		return exitFail
	}
	v := run.Verify
	fmt.Fprintf(c.Stdout, "verified: backup %s/%s restored in %s, %d checks passed (backup age %s)\n",
		b.Name, v.BackupID, v.RestoreTime.Round(1e6), len(v.Checks), v.BackupAge.Round(1e9))
	return exitOK
}
