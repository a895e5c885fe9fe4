package main

import (
	"fmt"
	"strings"

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

` + specFlagsHelp)
}

func (c *ValidateCommand) Run(args []string) int {
	var sf specFlags
	var asJSON bool
	fs := c.flagSet("validate")
	sf.register(fs)
	fs.BoolVar(&asJSON, "json", false, "")
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
	}
	return exitOK
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
