package main

import (
	"fmt"
	"strings"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/jobs"
)

// PlanCommand shows what apply would change in the cluster.
type PlanCommand struct{ *Meta }

func (c *PlanCommand) Synopsis() string { return "Show what apply would change in Nomad" }

func (c *PlanCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil plan [options] [PATH]

  Compiles the backup specs in PATH and asks Nomad's plan API what
  registering each job would change. It also lists jobs vigil manages in
  the cluster that no spec declares any more ("vigil apply -prune" stops them).

  Exit codes follow "nomad job plan": 0 no changes, 1 changes, 255 error.

Plan Options:

  -json
    Print the plan as JSON.

` + specFlagsHelp + "\n\n" + nomadFlagsHelp)
}

func (c *PlanCommand) Run(args []string) int {
	var sf specFlags
	var nf nomadFlags
	var asJSON bool
	fs := c.flagSet("plan")
	sf.register(fs)
	nf.register(fs)
	fs.BoolVar(&asJSON, "json", false, "")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	p, _, _, code := c.makePlan(fs.Args(), sf, nf)
	if p == nil {
		return code
	}
	if asJSON {
		if err := writeJSON(c.Stdout, planJSON(p)); err != nil {
			return exitError
		}
	} else {
		c.printPlan(p)
	}
	if p.Changed() {
		return exitChanges
	}
	return exitOK
}

// makePlan compiles the spec and plans it; it prints errors itself.
func (m *Meta) makePlan(args []string, sf specFlags, nf nomadFlags) (*jobs.Plan, jobs.Cluster, *config.Config, int) {
	path, err := specPath(args)
	if err != nil {
		m.errorf("%v", err)
		return nil, nil, nil, exitError
	}
	cfg := m.loadSpec(path, sf)
	if cfg == nil {
		return nil, nil, nil, exitError
	}
	compiled, err := jobs.Compile(cfg, compileOptions())
	if err != nil {
		m.errorf("%v", err)
		return nil, nil, nil, exitError
	}
	client, err := nf.client(cfg.Nomad)
	if err != nil {
		m.errorf("%v", err)
		return nil, nil, nil, exitError
	}
	p, err := jobs.MakePlan(client.Jobs(), compiled, cfg.ID)
	if err != nil {
		m.errorf("%v", err)
		return nil, nil, nil, exitError
	}
	return p, client.Jobs(), cfg, exitOK
}

func (m *Meta) printPlan(p *jobs.Plan) {
	changed := 0
	for _, jp := range p.Jobs {
		if !jp.Changed() {
			fmt.Fprintf(m.Stdout, "Job: %q (no changes)\n", *jp.Job.ID)
			continue
		}
		changed++
		fmt.Fprint(m.Stdout, jobs.FormatDiff(jp.Diff))
		if jp.Warnings != "" {
			fmt.Fprintf(m.Stdout, "Job Warnings:\n%s\n", strings.TrimSpace(jp.Warnings))
		}
		fmt.Fprintf(m.Stdout, "Job Modify Index: %d\n\n", jp.ModifyIndex)
	}
	for _, o := range p.Orphans {
		fmt.Fprintf(m.Stdout, "- Job: %q (namespace %s): managed by vigil, but no spec declares it; \"vigil apply -prune\" stops it\n", o.ID, o.Namespace)
	}
	for _, ns := range p.Unsearched {
		fmt.Fprintf(m.Stdout, "Note: the token may not list jobs in namespace %q, so orphans there are not shown\n", ns)
	}
	fmt.Fprintf(m.Stdout, "\nPlan: %d of %d jobs change, %d orphaned (configuration %q).\n", changed, len(p.Jobs), len(p.Orphans), p.ConfigID)
}

type planJob struct {
	ID          string `json:"id"`
	Changed     bool   `json:"changed"`
	DiffType    string `json:"diff_type"`
	ModifyIndex uint64 `json:"modify_index"`
	Diff        string `json:"diff,omitempty"`
}

type planDoc struct {
	Changed bool          `json:"changed"`
	Jobs    []planJob     `json:"jobs"`
	Orphans []jobs.Orphan `json:"orphans"`
}

func planJSON(p *jobs.Plan) planDoc {
	doc := planDoc{Changed: p.Changed(), Jobs: []planJob{}, Orphans: p.Orphans}
	if doc.Orphans == nil {
		doc.Orphans = []jobs.Orphan{}
	}
	for _, jp := range p.Jobs {
		j := planJob{ID: *jp.Job.ID, Changed: jp.Changed(), ModifyIndex: jp.ModifyIndex}
		if jp.Diff != nil {
			j.DiffType = jp.Diff.Type
			if jp.Changed() {
				j.Diff = jobs.FormatDiff(jp.Diff)
			}
		}
		doc.Jobs = append(doc.Jobs, j)
	}
	return doc
}
