package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/jobs"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/record"
)

// ApplyCommand registers the compiled jobs.
type ApplyCommand struct{ *Meta }

func (c *ApplyCommand) Synopsis() string { return "Register the backup jobs with Nomad" }

func (c *ApplyCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil apply [options] [PATH]

  Plans the backup specs in PATH like "vigil plan", asks for confirmation,
  and registers each changed job with the modify index its plan saw, so a
  job someone changed in the meantime is not overwritten.

Apply Options:

  -auto-approve
    Skip the confirmation.

  -prune
    Also stop jobs vigil manages that no spec declares any more.

` + specFlagsHelp + "\n\n" + nomadFlagsHelp)
}

func (c *ApplyCommand) Run(args []string) int {
	var sf specFlags
	var nf nomadFlags
	var autoApprove, prune bool
	fs := c.flagSet("apply")
	sf.register(fs)
	nf.register(fs)
	fs.BoolVar(&autoApprove, "auto-approve", false, "")
	fs.BoolVar(&prune, "prune", false, "")
	if err := fs.Parse(args); err != nil {
		return exitFail
	}
	p, cluster, cfg, _ := c.makePlan(fs.Args(), sf, nf)
	if p == nil {
		return exitFail
	}
	c.printPlan(p)
	if !prune {
		p.Orphans = nil
	}
	if !p.Changed() {
		fmt.Fprintln(c.Stdout, "No changes to apply.")
		return exitOK
	}
	if !autoApprove && !confirm(c.Stdin, c.Stdout) {
		c.errorf("apply: cancelled; nothing was changed")
		return exitFail
	}
	if err := jobs.Apply(cluster, p, prune, func(s string) { fmt.Fprintln(c.Stdout, s) }); err != nil {
		c.errorf("apply: %v", err)
		return exitFail
	}
	c.recordRegistration(cfg)
	fmt.Fprintln(c.Stdout, "Apply complete.")
	return exitOK
}

// recordRegistration notes on the control Consul when each backup's job was
// first registered, so a backup that never runs turns overdue from its
// first expected run. A failure is a warning: vigil serve records the
// first sight of a backup too.
func (c *ApplyCommand) recordRegistration(cfg *config.Config) {
	if !cfg.Consul.Enabled {
		return
	}
	client, err := plugin.ControlClient(cfg.Consul)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		book := &record.Consul{Client: client}
		now := time.Now()
		for _, b := range cfg.Backups {
			if err = book.Register(ctx, b.Name, now); err != nil {
				break
			}
		}
	}
	if err != nil {
		c.errorf("apply: warning: the registration time of the backups was not recorded (vigil serve records it when it first sees them): %v", err)
	}
}

func confirm(in io.Reader, out io.Writer) bool {
	fmt.Fprint(out, "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
	line, _ := bufio.NewReader(in).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
