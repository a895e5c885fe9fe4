package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks"
)

// PruneCommand applies (or previews) a backup's retention policy.
type PruneCommand struct{ *Meta }

func (c *PruneCommand) Synopsis() string { return "Apply a backup's retention policy" }

func (c *PruneCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil prune -backup NAME [-dry-run] [options]

  Applies the backup's retain {} policy: deletes backups it does not keep
  (manifest first, then data) and data objects left without a manifest by
  crashed runs. Every run does this after a good backup.

Prune Options:

  -dry-run  Show what would be deleted, delete nothing.

` + runtimeFlagsHelp)
}

func (c *PruneCommand) Run(args []string) int {
	var rf runtimeFlags
	var dry bool
	fs := c.flagSet("prune")
	rf.register(fs)
	fs.BoolVar(&dry, "dry-run", false, "")
	_, b, d, ok := c.prepare(fs, &rf, args)
	if !ok {
		return exitFail
	}
	ctx, stop := signalContext()
	defer stop()
	s, sess, ok := c.openStore(ctx, d, b, "prune")
	if !ok {
		return exitFail
	}
	defer sess.Close(ctx)
	now := time.Now()
	// Without the run lock, a snapshot or upload younger than a run's
	// longest life may belong to a run in progress: leave those alone.
	abortBefore := now.Add(-tasks.OrphanAge(b))
	var repo plugin.Repository
	if plugin.KeepsRepository(b.Type) {
		t, tsess, err := d.OpenTarget(ctx, b, time.Hour)
		defer tsess.Close(context.WithoutCancel(ctx))
		if err != nil {
			c.errorf("vigil: prune %s: %v", b.Name, err)
			return exitFail
		}
		repo, _ = t.(plugin.Repository)
	}
	sigs, err := d.Signatures(b)
	if err != nil {
		c.errorf("vigil: prune %s: %v", b.Name, err)
		return exitFail
	}
	if dry {
		plan, err := tasks.MakePrunePlan(ctx, s, b, sigs, now, abortBefore, repo)
		if err != nil {
			c.errorf("vigil: prune %s: %v", b.Name, err)
			return exitFail
		}
		for _, snap := range plan.Snapshots {
			fmt.Fprintf(c.Stdout, "delete  snapshot %s (%s)\n", snap.Name, snap.State)
		}
		for _, e := range plan.Keep {
			fmt.Fprintf(c.Stdout, "keep    %s\n", e.ID)
		}
		for _, e := range plan.Drop {
			fmt.Fprintf(c.Stdout, "delete  %s (%s)\n", e.ID, strings.Join(append([]string{e.ManifestKey}, e.DataKeys...), ", "))
		}
		for _, o := range plan.Orphans {
			fmt.Fprintf(c.Stdout, "delete  %s (no manifest)\n", o.Key)
		}
		fmt.Fprintf(c.Stdout, "dry run: %d kept, %d would be deleted, %d orphans\n", len(plan.Keep), len(plan.Drop), len(plan.Orphans))
		return exitOK
	}
	res, err := tasks.Prune(ctx, s, b, sigs, now, abortBefore, repo)
	if err != nil {
		c.errorf("vigil: prune %s: %v", b.Name, err)
		return exitFail
	}
	fmt.Fprintf(c.Stdout, "%d kept, %d deleted\n", res.Kept, len(res.Deleted))
	return exitOK
}
