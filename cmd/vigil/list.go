package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/vigil-backup/vigil/tasks"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
)

// ListCommand lists the complete backups of a backup and their manifests.
type ListCommand struct{ *Meta }

func (c *ListCommand) Synopsis() string { return "List a backup's stored backups" }

func (c *ListCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil list -backup NAME [options]

  Lists the backups in storage that have a manifest, newest first, with
  size, sha256 and the verdict of each backup's own latest drill:
  "verified", "DRILL FAILED" with the reason, or "not verified yet".
  Objects without a manifest are not backups and are not listed; a
  manifest whose signature fails is listed as TAMPERED.

List Options:

  -json  Print the manifests as JSON.
  -from NAME
         List only what storage NAME holds. A backup with several storages
         (storage = [a, b]) is listed from all of them by default, with a
         Copies column naming the storages that hold each backup whole.

` + runtimeFlagsHelp)
}

func (c *ListCommand) Run(args []string) int {
	var rf runtimeFlags
	var asJSON bool
	fs := c.flagSet("list")
	rf.register(fs)
	fs.BoolVar(&asJSON, "json", false, "")
	var from string
	fs.StringVar(&from, "from", "", "")
	_, b, d, ok := c.prepare(fs, &rf, args)
	if !ok {
		return exitFail
	}
	ctx, stop := signalContext()
	defer stop()
	cs, err := d.ReadCopies(ctx, b, from)
	if err != nil {
		c.errorf("vigil: list %s: %v", b.Name, err)
		return exitFail
	}
	defer cs.Close(ctx, d.Log)
	for _, cp := range cs.List {
		if cp.Err != nil {
			c.errorf("vigil: list %s: storage %s cannot be read, so its copies are not shown: %v", b.Name, cp.Name(), cp.Err)
		}
	}
	several := len(b.Copies) > 0
	cat := cs.Merged
	verdicts, err := tasks.ReadVerdicts(ctx, cs.Records(d), b.Name)
	if err != nil {
		// The backups are listed all the same; their verdicts are unknown.
		c.errorf("vigil: list %s: %v; the Drill column is unknown", b.Name, err)
	}
	ms := []listed{}
	for _, e := range cat.Good {
		l := listed{Manifest: e.Manifest, Drill: verdictOrNil(verdicts, e.ID), Overwritten: e.Overwritten}
		if several {
			l.Copies = cs.Holders(e.ID)
		}
		ms = append(ms, l)
		if e.Overwritten != "" {
			c.errorf("vigil: list %s: %s: its object was written over (current version %s, the backup's %s): evidence of tampering; restores read the backup's own version",
				b.Name, e.ID, e.Overwritten, e.Manifest.ObjectVersion)
		}
	}
	// A manifest whose signature fails is shown as what it is, never as
	// a backup.
	for _, e := range cat.Broken {
		if e.Tampered {
			c.errorf("vigil: list %s: %s is not a backup: %s", b.Name, e.ID, e.Problem)
		}
	}
	if asJSON {
		return boolExit(writeJSON(c.Stdout, ms) == nil)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	head := "ID\tFinished\tSize\tCompression\tChecksum\tDrill\tObject"
	if several {
		head += "\tCopies"
	}
	fmt.Fprintln(tw, head)
	for _, l := range ms {
		m := l.Manifest
		object := m.Object
		if l.Overwritten != "" {
			object += " (OVERWRITTEN since: restores read the backup's own version)"
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", m.ID, m.FinishedAt.UTC().Format("2006-01-02T15:04:05Z"),
			record.HumanBytes(m.Size), m.Compression+encrypted(m), short(m.Checksum()), drillColumn(l.Drill), object)
		if several {
			line += "\t" + strings.Join(l.Copies, ",")
		}
		fmt.Fprintln(tw, line)
	}
	for _, e := range cat.Broken {
		switch {
		case e.Tampered:
			fmt.Fprintf(tw, "%s\tTAMPERED\t\t\t\t\t%s\n", e.ID, strings.TrimPrefix(e.Problem, tasks.TamperedPrefix))
		case e.Quarantined:
			fmt.Fprintf(tw, "%s\tUNREADABLE\t\t\t\t\t%s (kept; vigil prune -unreadable deletes it)\n", e.ID, strings.TrimPrefix(e.Problem, tasks.UnreadablePrefix))
		}
	}
	tw.Flush()
	return exitOK
}

// listed is one backup as list prints it: the manifest, and its drill
// verdict (nil when the records could not be read).
type listed struct {
	*manifest.Manifest
	Drill *record.Verdict `json:"drill,omitempty"`
	// Overwritten is the current version of the object when someone
	// wrote over the backup's own (pinned) version.
	Overwritten string `json:"overwritten_by_version,omitempty"`
	// Copies names the storages holding it whole, for a backup with
	// several.
	Copies []string `json:"copies,omitempty"`
}

func verdictOrNil(vs record.Verdicts, id string) *record.Verdict {
	if vs == nil {
		return nil
	}
	v := vs.Of(id)
	return &v
}

// drillColumn is a verdict in the table: a failed drill stands out.
func drillColumn(v *record.Verdict) string {
	switch {
	case v == nil:
		return "unknown"
	case v.State == record.DrillFail:
		return "DRILL FAILED: " + clip(v.Reason, 60)
	case v.State == record.Verified:
		return "verified " + v.At.UTC().Format("2006-01-02T15:04:05Z")
	}
	return v.State
}

// encrypted marks an encrypted backup in the Compression column.
func encrypted(m *manifest.Manifest) string {
	if m.Encryption == nil {
		return ""
	}
	return fmt.Sprintf(", encrypted (%s v%d)", m.Encryption.Key, m.Encryption.KeyVersion)
}

func short(sha string) string {
	if len(sha) > 12 && !strings.HasPrefix(sha, "crc32c:") {
		return sha[:12]
	}
	return sha
}

func boolExit(ok bool) int {
	if ok {
		return exitOK
	}
	return exitFail
}
