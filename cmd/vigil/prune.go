package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks"
	"github.com/vigil-backup/vigil/tasks/store"
)

// PruneCommand applies (or previews) a backup's retention policy.
type PruneCommand struct{ *Meta }

func (c *PruneCommand) Synopsis() string { return "Apply a backup's retention policy" }

func (c *PruneCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil prune -backup NAME [-dry-run | -unreadable [-auto-approve]] [options]

  Applies the backup's retain {} policy: deletes backups it does not keep
  (manifest first, then data) and data objects left without a manifest by
  crashed runs. Every run does this after a good backup.

  A manifest vigil cannot read (a newer format, a stray byte, over 1 MiB,
  a failed signature, another backup's copy) is never deleted by
  retention: vigil list shows it as UNREADABLE or TAMPERED with the
  reason. -unreadable lists those manifests and their data objects, asks,
  and deletes them.

Prune Options:

  -dry-run       Show what would be deleted, delete nothing.
  -unreadable    Delete the unreadable manifests, after listing them.
  -auto-approve  With -unreadable: do not ask.
  -from NAME     Only this storage. A backup with several storages
                 (storage = [a, b]) is pruned in each, by that storage's
                 retain when it sets one.

` + runtimeFlagsHelp)
}

func (c *PruneCommand) Run(args []string) int {
	var rf runtimeFlags
	var dry, unreadable, autoApprove bool
	fs := c.flagSet("prune")
	rf.register(fs)
	fs.BoolVar(&dry, "dry-run", false, "")
	fs.BoolVar(&unreadable, "unreadable", false, "")
	fs.BoolVar(&autoApprove, "auto-approve", false, "")
	var from string
	fs.StringVar(&from, "from", "", "")
	_, b, d, ok := c.prepare(fs, &rf, args)
	if !ok {
		return exitFail
	}
	ctx, stop := signalContext()
	defer stop()
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
	if from != "" && b.Destination(from) < 0 {
		c.errorf("vigil: prune %s: -from %s: the backup is not stored there; its storages are %s", b.Name, from, storageNames(b))
		return exitFail
	}
	// Each storage of the backup keeps its own history, with its own
	// retain: each is pruned on its own.
	code := exitOK
	for i, st := range b.Destinations() {
		if from != "" && st.Name != from {
			continue
		}
		bb := b.At(i)
		if len(b.Copies) > 0 {
			fmt.Fprintf(c.Stdout, "storage %s:\n", st.Name)
		}
		s, sess, ok := c.openStore(ctx, d, bb, "prune")
		if !ok {
			code = exitFail
			continue
		}
		if c.pruneIn(ctx, s, bb, sigs, repo, now, abortBefore, dry, unreadable, autoApprove) != exitOK {
			code = exitFail
		}
		sess.Close(ctx)
	}
	return code
}

// pruneIn prunes one storage of a backup (b as stored there).
func (c *PruneCommand) pruneIn(ctx context.Context, s store.Store, b *config.Backup, sigs tasks.Signatures, repo plugin.Repository, now, abortBefore time.Time, dry, unreadable, autoApprove bool) int {
	if unreadable {
		return c.pruneUnreadable(ctx, s, b, sigs, dry, autoApprove)
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
		for _, id := range plan.Quarantined {
			fmt.Fprintf(c.Stdout, "keep    %s (unreadable: only prune -unreadable deletes it)\n", id)
		}
		fmt.Fprintf(c.Stdout, "dry run: %d kept, %d would be deleted, %d orphans, %d unreadable kept\n", len(plan.Keep), len(plan.Drop), len(plan.Orphans), len(plan.Quarantined))
		return exitOK
	}
	res, err := tasks.Prune(ctx, s, b, sigs, now, abortBefore, repo)
	if err != nil {
		c.errorf("vigil: prune %s: %v", b.Name, err)
		return exitFail
	}
	fmt.Fprintf(c.Stdout, "%d kept, %d deleted", res.Kept, len(res.Deleted))
	if n := len(res.Quarantined); n > 0 {
		fmt.Fprintf(c.Stdout, ", %d unreadable manifests kept (vigil list shows why; prune -unreadable deletes them)", n)
	}
	fmt.Fprintln(c.Stdout)
	return exitOK
}

// pruneUnreadable lists the quarantined manifests, asks, and deletes them.
func (c *PruneCommand) pruneUnreadable(ctx context.Context, s store.Store, b *config.Backup, sigs tasks.Signatures, dry, autoApprove bool) int {
	cat, err := tasks.ReadCatalog(ctx, s, sigs, b.Name)
	if err != nil {
		c.errorf("vigil: prune %s: %v", b.Name, err)
		return exitFail
	}
	q := cat.Quarantined()
	if len(q) == 0 {
		fmt.Fprintf(c.Stdout, "%s has no unreadable manifest\n", b.Name)
		return exitOK
	}
	fmt.Fprintf(c.Stdout, "%d unreadable manifests of %s, which retention keeps:\n", len(q), b.Name)
	for _, e := range q {
		fmt.Fprintf(c.Stdout, "  delete  %s: %s\n", strings.Join(append([]string{e.ManifestKey}, e.DataKeys...), ", "), e.Problem)
	}
	if dry {
		return exitOK
	}
	if !autoApprove && !confirm(c.Stdin, c.Stdout) {
		c.errorf("prune: cancelled; nothing was deleted (-auto-approve skips the question)")
		return exitFail
	}
	deleted, err := tasks.PruneUnreadable(ctx, s, b, sigs, q)
	fmt.Fprintf(c.Stdout, "%d unreadable manifests deleted\n", len(deleted))
	if err != nil {
		c.errorf("vigil: prune %s: %v", b.Name, err)
		return exitFail
	}
	return exitOK
}

// storageNames lists a backup's storages, comma-separated.
func storageNames(b *config.Backup) string {
	var names []string
	for _, s := range b.Destinations() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}
