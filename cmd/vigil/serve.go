package main

import (
	"strings"

	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks"
	"github.com/vigil-backup/vigil/tasks/health"
)

// ServeCommand keeps the Consul checks and serves backup status.
type ServeCommand struct{ *Meta }

func (c *ServeCommand) Synopsis() string {
	return "Keep Consul checks of every backup and serve their status"
}

func (c *ServeCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil serve [-config PATH] [-addr HOST:PORT] [options]

  Watches the run records on the control Consul (blocking queries) and,
  for every backup, keeps a Consul check: passing after a good run,
  critical after a failed one, critical when overdue (the run the cron
  expected, plus the backup's grace, did not happen). Backups with a
  verify block get a second check: "last verified-good backup younger
  than max_age". When several allocations run, one leader (a Consul lock)
  writes the checks; all serve HTTP:

    GET /                   a page of every backup (HTML, no script)
    GET /backups/<name>     a page of one backup: runs, drills, trends
    GET /v1/status          every backup (503 if any is failing or overdue)
    GET /v1/status/<name>   one backup (503 if failing or overdue)
    GET /metrics            Prometheus text

  The compiled vigil-serve job runs this command.

  A standalone configuration (consul { enabled = false }) keeps its run
  records beside the backups: serve reads them from each backup's storage
  every 15 s and serves the same HTTP API, with no checks to keep.

Serve Options:

  -addr HOST:PORT  Where to listen (default: the spec's serve { address },
                   else 127.0.0.1:8080).
  -config PATH     As for the other commands; every backup of it is watched.
  -log-level, -log-json, -var, -var-file as for vigil run.
`)
}

func (c *ServeCommand) Run(args []string) int {
	var rf runtimeFlags
	var addr string
	fs := c.flagSet("serve")
	rf.register(fs)
	fs.StringVar(&addr, "addr", "", "")
	if err := fs.Parse(args); err != nil {
		return exitFail
	}
	cfg, ok := c.loadAll(&rf)
	if !ok {
		return exitFail
	}
	memoryLimit(serveMemoryLimit)
	if addr == "" {
		addr = cfg.Serve.Address
	}
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	ctx, stop := signalContext()
	defer stop()
	opts := health.ServeOptions{Config: cfg, Addr: addr, Log: c.logger(&rf), Version: displayVersion(version)}
	if cfg.Consul.Enabled {
		client, err := plugin.ControlClient(cfg.Consul)
		if err != nil {
			c.errorf("serve: %v", err)
			return exitFail
		}
		opts.Consul = client
		cc := plugin.ControlConfig(cfg.Consul)
		opts.ConsulUI = cc.Scheme + "://" + cc.Address
		if opts.Datacenter = cfg.Consul.Datacenter; opts.Datacenter == "" {
			// Sorted by round-trip time: the agent's own comes first. (It
			// needs no ACL, unlike /v1/agent/self.)
			if dcs, err := client.Catalog().Datacenters(); err == nil && len(dcs) > 0 {
				opts.Datacenter = dcs[0]
			}
		}
	} else {
		book, closeAll, ok := c.recordsBeside(ctx, cfg, cfg.Backups, &rf, "serve")
		if !ok {
			return exitFail
		}
		defer closeAll()
		opts.Book = book
	}
	tel, err := tasks.NewTelemetry(cfg.Telemetry, true)
	if err != nil {
		c.errorf("serve: %v", err)
		return exitFail
	}
	defer tel.Close()
	opts.Metrics, opts.Published = tel.Handler(), tel.Statuses
	opts.NomadUI = plugin.EnvOverSpec.Address("NOMAD_ADDR", cfg.Nomad.Address)
	if err := health.Serve(ctx, opts); err != nil {
		c.errorf("%v", err)
		return exitFail
	}
	return exitOK
}
