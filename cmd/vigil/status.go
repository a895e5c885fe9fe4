package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/jobs"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/health"
	"github.com/vigil-backup/vigil/tasks/record"
)

// StatusCommand prints every backup's health.
type StatusCommand struct{ *Meta }

func (c *StatusCommand) Synopsis() string {
	return "Show each backup's last run, next run and check state"
}

func (c *StatusCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil status [-json] [-v] [-config PATH] [NAME]

  Prints, in the style of "nomad job status", each backup with its last
  run, result, age, next expected run, the age of its last verified-good
  backup and its Consul check state, read from the run records on the
  control Consul, or, for a standalone config (consul { enabled = false }),
  from the records beside the backups in each backup's storage.

  Exit status: 0 when every backup is healthy, 2 when any is failing or
  overdue, 1 on errors.

Status Options:

  -json  Print the statuses as JSON.
  -v     Print each reason in full, under the table, instead of its
         first words in the Reason column.
`)
}

func (c *StatusCommand) Run(args []string) int {
	var rf runtimeFlags
	var asJSON, verbose bool
	fs := c.flagSet("status")
	rf.register(fs)
	fs.BoolVar(&asJSON, "json", false, "")
	fs.BoolVar(&verbose, "v", false, "")
	if err := fs.Parse(args); err != nil {
		return exitFail
	}
	cfg, ok := c.loadAll(&rf)
	if !ok {
		return exitFail
	}
	if fs.NArg() > 1 {
		c.errorf("status: at most one backup NAME")
		return exitFail
	}
	backups := cfg.Backups
	if fs.NArg() == 1 {
		b, err := cfg.Backup(fs.Arg(0))
		if err != nil {
			c.errorf("status: %v", err)
			return exitFail
		}
		backups = []config.Backup{*b}
	}
	ctx, stop := signalContext()
	defer stop()
	now := time.Now()
	var book record.Book
	var client *consul.Client // nil: standalone, no checks
	if cfg.Consul.Enabled {
		var err error
		if client, err = plugin.ControlClient(cfg.Consul); err != nil {
			c.errorf("status: %v", err)
			return exitFail
		}
		book = &record.Consul{Client: client}
	} else {
		routed, closeAll, ok := c.recordsBeside(ctx, cfg, backups, &rf, "status")
		if !ok {
			return exitFail
		}
		defer closeAll()
		book = routed
	}
	// The same read serve makes: on Consul, every latest record in one
	// request and the histories four at a time.
	w := &health.Watcher{Backups: backups, Book: book, Since: now, Now: func() time.Time { return now }, ReadOnly: true}
	if client != nil {
		w.KV = client.KV()
	}
	if err := w.Refresh(ctx); err != nil {
		c.errorf("status: %v", err)
		return exitFail
	}
	statuses := w.Statuses()
	var checks map[string]string // nil: no checks to show
	serveJob := ""
	if client != nil {
		checks, serveJob = checkStates(client, cfg.Serve.Node), jobs.ServeID(cfg)
	}
	if asJSON {
		if err := writeJSON(c.Stdout, statuses); err != nil {
			return exitFail
		}
	} else {
		printStatus(c.Stdout, statuses, checks, serveJob, now, verbose)
	}
	return statusExit(statuses)
}

// statusExit is 2 when any backup is failing or overdue.
func statusExit(statuses []health.Status) int {
	for _, s := range statuses {
		if !s.Healthy {
			return 2
		}
	}
	return exitOK
}

// checkStates reads the Consul check states vigil serve keeps; empty when
// none are registered (no vigil serve runs).
func checkStates(c *consul.Client, node string) map[string]string {
	out := map[string]string{}
	checks, _, err := c.Health().Node(node, nil)
	if err != nil {
		return out
	}
	for _, ch := range checks {
		out[ch.CheckID] = ch.Status
	}
	return out
}

// reasonWidth is how much of a reason the table shows; -v prints it whole.
const reasonWidth = 60

func printStatus(w io.Writer, statuses []health.Status, checks map[string]string, serveJob string, now time.Time, verbose bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "Name\tType\tLast Run\tResult\tAge\tNext Run\tVerified\tCheck\tReason")
	var full []string
	stale := false
	for _, s := range statuses {
		last, result, age := "-", "never", "-"
		if s.Last != nil {
			last = s.Last.StartedAt.UTC().Format("2006-01-02T15:04:05Z")
			result = s.Last.Status
			age = ago(now.Sub(s.Last.StartedAt))
		}
		if s.Overdue {
			result += " (overdue)"
		}
		if s.Running != nil {
			result += " (running)"
		}
		verified := "-"
		if s.Verify != nil {
			verified = "never"
			if s.Verify.LastGood != nil {
				verified = ago(now.Sub(*s.Verify.LastGood))
			}
		}
		check := checks[health.CheckID(s.Backup)]
		switch {
		case checks == nil:
			check = "(standalone)"
		case check == "":
			check = "(no vigil serve)"
		case check != s.State:
			// Only a leading vigil serve writes the checks: one that says
			// other than the records is not being kept.
			check += " (stale: the records say " + s.State + ")"
			stale = true
		}
		reason := "-"
		if s.Reason != "" {
			reason = clip(s.Reason, reasonWidth)
			if verbose {
				reason = fmt.Sprintf("(%d below)", len(full)+1)
				full = append(full, fmt.Sprintf("[%d] %s: %s", len(full)+1, s.Backup, s.Reason))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Backup, s.Type, last, result, age,
			s.NextExpected.UTC().Format("2006-01-02T15:04:05Z"), verified, check, reason)
	}
	tw.Flush()
	printCopies(w, statuses, now)
	if len(full) > 0 {
		fmt.Fprintln(w)
		for _, f := range full {
			fmt.Fprintln(w, f)
		}
	}
	if stale {
		fmt.Fprintf(w, "\nA stale check is one no vigil serve keeps up to date: Consul still shows its last state.\n"+
			"Start it with `vigil apply` (it submits the %s job with the backups), or check it with\n"+
			"`nomad job status %s`.\n", serveJob, serveJob)
	}
}

// printCopies lists each destination of the backups with several: the
// last run's copy there and the age of the newest good one.
func printCopies(w io.Writer, statuses []health.Status, now time.Time) {
	var tw *tabwriter.Writer
	for _, s := range statuses {
		for _, c := range s.Copies {
			if tw == nil {
				fmt.Fprintln(w, "\nCopies of backups with several storages:")
				tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "Name\tStorage\tLast Copy\tNewest Good\tError")
			}
			last, newest, why := "good", "never", "-"
			if !c.LastGood {
				last = "FAILED"
			}
			if c.NewestGood != nil {
				newest = ago(now.Sub(*c.NewestGood))
			}
			if c.Error != "" {
				why = clip(c.Error, reasonWidth)
			}
			fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\n", s.Backup, c.Kind, c.Storage, last, newest, why)
		}
	}
	if tw != nil {
		tw.Flush()
	}
}

// clip shortens s to n characters with an ellipsis; -v shows it whole.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}
