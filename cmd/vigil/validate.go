package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"

	"github.com/vigil-backup/vigil/hcl/parse"
	"github.com/vigil-backup/vigil/jobs"
)

// ValidateCommand checks specs without contacting any server.
type ValidateCommand struct{ *Meta }

func (c *ValidateCommand) Synopsis() string { return "Check backup specs for errors" }

func (c *ValidateCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil validate [options] [PATH]

  Evaluates the backup specs in PATH (a directory of *.hcl files, or one
  file; default ".") and compiles them to Nomad jobs, without contacting
  any server. Every problem is printed with its file:line:col.

  Exit status is 0 when the specs are valid and 1 otherwise.

Validate Options:

  -json
    Print the result as JSON, shaped like "terraform validate -json".

  -v
    Print each backup's next three runs in its time zone (the default
    when the output is a terminal).

` + specFlagsHelp)
}

func (c *ValidateCommand) Run(args []string) int {
	var sf specFlags
	var asJSON, verbose bool
	fs := c.flagSet("validate")
	sf.register(fs)
	fs.BoolVar(&asJSON, "json", false, "")
	fs.BoolVar(&verbose, "v", false, "")
	if err := fs.Parse(args); err != nil {
		return exitFail
	}
	path, err := specPath(fs.Args())
	if err != nil {
		c.errorf("validate: %v", err)
		return exitFail
	}
	cfg, files, diags := parse.Load(path, parse.Options{Vars: sf.vars, VarFiles: sf.varFiles})
	if cfg != nil {
		if _, err := jobs.Compile(cfg, compileOptions()); err != nil {
			c.errorf("validate: %v", err)
			return exitFail
		}
	}
	if asJSON {
		if err := parse.WriteDiagnosticsJSON(c.Stdout, diags); err != nil {
			return exitFail
		}
	} else {
		parse.WriteDiagnostics(c.Stderr, files, diags)
	}
	if diags.HasErrors() {
		return exitFail
	}
	if !asJSON {
		c.Ui.Output("Success! The configuration is valid: " + plural(len(cfg.Backups), "backup"))
		if verbose || c.stdoutIsTerminal() {
			c.printNextRuns(cfg, time.Now())
		}
	}
	return exitOK
}

// printNextRuns shows when Nomad will start each backup: the check that
// a schedule means what its author thinks.
func (c *ValidateCommand) printNextRuns(cfg *config.Config, now time.Time) {
	if len(cfg.Backups) == 0 {
		return
	}
	fmt.Fprintln(c.Stdout, "\nNext runs:")
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	for _, b := range cfg.Backups {
		tz := b.TimeZone
		if tz == "" {
			tz = "UTC"
		}
		var at []string
		for _, t := range config.NextRuns(b.Schedule, tz, now, 3) {
			at = append(at, t.Format("2006-01-02 15:04 MST"))
		}
		fmt.Fprintf(tw, "  %s\t%q\t%s\t%s\n", b.Name, b.Schedule, tz, strings.Join(at, ", "))
	}
	tw.Flush()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
