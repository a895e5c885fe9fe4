package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/jobs"
)

// RenderCommand prints the compiled Nomad jobs.
type RenderCommand struct{ *Meta }

func (c *RenderCommand) Synopsis() string { return "Print the Nomad jobs compiled from backup specs" }

func (c *RenderCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil render [options] [PATH]

  Compiles the backup specs in PATH and prints the Nomad jobs. HCL output
  runs with "nomad job run FILE"; JSON output with "nomad job run -json FILE".

Render Options:

  -format=hcl
    hcl or json.

  -out=DIR
    Write one file per job into DIR (<job-id>.nomad.hcl or .nomad.json)
    instead of printing them.

` + specFlagsHelp)
}

func (c *RenderCommand) Run(args []string) int {
	var sf specFlags
	var format, out string
	fs := c.flagSet("render")
	sf.register(fs)
	fs.StringVar(&format, "format", "hcl", "")
	fs.StringVar(&out, "out", "", "")
	if err := fs.Parse(args); err != nil {
		return exitFail
	}
	if format != "hcl" && format != "json" {
		c.errorf("render: -format must be hcl or json, got %q", format)
		return exitFail
	}
	path, err := specPath(fs.Args())
	if err != nil {
		c.errorf("render: %v", err)
		return exitFail
	}
	cfg := c.loadSpec(path, sf)
	if cfg == nil {
		return exitFail
	}
	compiled, err := jobs.Compile(cfg, compileOptions())
	if err != nil {
		c.errorf("render: %v", err)
		return exitFail
	}
	if out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			c.errorf("render: %v", err)
			return exitFail
		}
	}
	for i, job := range compiled {
		b, ext, err := renderJob(job, format)
		if err != nil {
			c.errorf("render: %v", err)
			return exitFail
		}
		if out == "" {
			if i > 0 {
				fmt.Fprintln(c.Stdout)
			}
			c.Stdout.Write(b)
			continue
		}
		file := filepath.Join(out, *job.ID+ext)
		if err := os.WriteFile(file, b, 0o644); err != nil {
			c.errorf("render: %v", err)
			return exitFail
		}
		fmt.Fprintln(c.Stdout, file)
	}
	return exitOK
}

func renderJob(job *api.Job, format string) ([]byte, string, error) {
	if format == "json" {
		b, err := jobs.RenderJSON(job)
		return b, ".nomad.json", err
	}
	return jobs.RenderHCL(job), ".nomad.hcl", nil
}
