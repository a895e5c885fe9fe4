package main

import (
	"fmt"
	"strings"

	"github.com/vigil-backup/vigil/tasks"
	"github.com/vigil-backup/vigil/tasks/record"
)

// RunCommand performs one backup run; it is what the Nomad task runs.
type RunCommand struct{ *Meta }

func (c *RunCommand) Synopsis() string { return "Run one backup now" }

func (c *RunCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil run -backup NAME [options]

  Runs one backup: takes the backup's lock, gets S3 credentials, streams
  the snapshot into storage with its sha256, writes the manifest last,
  applies retention and records the run.

  Inside Nomad this is the task's command. By hand it is the standalone
  mode: vigil run -config DIR -backup NAME. The same lock covers both, so a
  manual run and the Nomad job never overlap.

  Exit status: 0 when the backup was taken or skipped (another run holds
  the lock), 1 when it failed, or when it is partial: with several
  storages (storage = [a, b]), some hold a good copy and some failed. A drill or retention failure after a
  written backup is printed, recorded with its own status and turns the
  backup's check critical (drill) or warning (retention), but exits 0:
  the backup stands, and Nomad must not take it again for a later stage.

Run Options:

  -verify  After a good backup, run its restore drill (vigil verify) on it,
           then retention only if the drill passed. Jobs of backups with
           verify { after_backup = true } run with it.

` + runtimeFlagsHelp)
}

func (c *RunCommand) Run(args []string) int {
	var rf runtimeFlags
	var o tasks.RunOptions
	fs := c.flagSet("run")
	rf.register(fs)
	fs.BoolVar(&o.Drill, "verify", false, "")
	cfg, b, d, ok := c.prepare(fs, &rf, args)
	if !ok {
		return exitFail
	}
	ctx, tel, done, ok := c.startRun(cfg)
	if !ok {
		return exitFail
	}
	defer done()
	d.Finished = tel.RunFinished
	run, err := tasks.Run(ctx, d, b, o)
	switch {
	case err != nil:
		c.errorf("vigil: backup %s failed: %v", b.Name, err)
		return exitFail
	case run.Status == record.Skipped:
		holder := "another run"
		if run.Holder != nil {
			holder = run.Holder.String()
		}
		fmt.Fprintf(c.Stdout, "skipped: backup %s is locked by %s\n", b.Name, holder)
		return exitOK
	}
	fmt.Fprintf(c.Stdout, "succeeded: backup %s wrote %s (%s, %s)\n", b.Name, run.Object, record.HumanBytes(run.Size), checksumWords(run))
	for _, cp := range run.Copies {
		if cp.Good {
			fmt.Fprintf(c.Stdout, "  copy in %s %q: good\n", cp.Kind, cp.Storage)
		} else {
			fmt.Fprintf(c.Stdout, "  copy in %s %q: FAILED: %s\n", cp.Kind, cp.Storage, record.OneLine(cp.Error))
		}
	}
	if failed := run.FailedCopies(); len(failed) > 0 {
		// Partial, or a drill failure beside it: some copies are missing.
		c.errorf("vigil: backup %s is PARTIAL: %d of %d destinations hold no copy (see above); the next run writes every destination again", b.Name, len(failed), len(run.Copies))
	}
	switch {
	case run.Status == record.DrillFailed:
		c.errorf("vigil: backup %s was written, but its drill FAILED; retention was skipped: %s", b.Name, run.Drill.Error)
	case run.Status == record.RetentionFailed:
		c.errorf("vigil: backup %s was written, but retention FAILED: %s", b.Name, strings.TrimLeft(strings.TrimPrefix(run.Error, "the backup was written, but retention failed"), ": "))
	case run.Drill != nil:
		fmt.Fprintf(c.Stdout, "verified: backup %s/%s restored and checked\n", b.Name, run.ID)
	}
	if run.Status == record.Partial {
		// Nomad restarts the task once: a retry of every destination.
		return exitFail
	}
	return exitOK
}

// checksumWords names a run's object checksum: "sha256 HEX" or, for an
// encrypted object, "crc32c HEX".
func checksumWords(r *record.Run) string {
	if r.CRC32C != "" {
		return "crc32c " + r.CRC32C
	}
	return "sha256 " + r.SHA256
}
