package jobs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// ServePrefix starts the ID of a configuration's `vigil serve` service
// job: ServeID gives the whole ID.
const ServePrefix = "vigil-serve-"

// ServeID is the ID of a configuration's `vigil serve` job: one per
// configuration, so two spec directories in one namespace do not replace
// each other's.
func ServeID(cfg *config.Config) string { return ServePrefix + cfg.ID }

// CompileServe returns the long-running `vigil serve` service job: it keeps
// the Consul checks of every backup and serves their status. It needs the
// control Consul; nil means there is none (standalone configurations).
func CompileServe(cfg *config.Config, opts Options) (*api.Job, error) {
	if !cfg.Consul.Enabled || len(cfg.Backups) == 0 {
		return nil, nil
	}
	embedded := *cfg
	embedded.Nomad, embedded.Storages = config.Nomad{}, nil
	embedded.Backups = append([]config.Backup(nil), cfg.Backups...)
	for i := range embedded.Backups {
		embedded.Backups[i].Nomad = config.Nomad{}
	}
	var buf bytes.Buffer
	if err := embedded.Encode(&buf); err != nil {
		return nil, fmt.Errorf("jobs: compile %s: %w", ServeID(cfg), err)
	}
	sum := sha256.Sum256(buf.Bytes())
	n := taskNomad(cfg, cfg.Nomad, identity(cfg, KindServe, nil))
	if err := checkCommand(ServeID(cfg), n); err != nil {
		return nil, err
	}
	job := newJob(ServeID(cfg), cfg.ID, n, &config.Backup{}, "serve", hex.EncodeToString(sum[:]), opts)
	job.Type = ptr(api.JobTypeService)
	delete(job.Meta, MetaBackup)
	delete(job.Meta, MetaType)
	addr := "${NOMAD_ADDR_http}"
	mapped := n.Driver == config.DriverDocker && n.NetworkMode != "host"
	if mapped {
		// A container on a docker network has its own address: serve
		// listens on all of them and Nomad maps the node's port to it.
		addr = "0.0.0.0:${NOMAD_PORT_http}"
	}
	args := []string{"serve", "-config", "${NOMAD_TASK_DIR}/vigil.json", "-addr", addr}
	n.VaultEnabled = false // serve reads records; it needs no storage credentials
	tg := group("serve", n, cfg.Vault, time.Hour, buf.String(), args)
	if mapped {
		tg.Tasks[0].Config["ports"] = []any{"http"}
	}
	tg.Count = ptr(cfg.Serve.Count)
	tg.Networks = []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: "http"}}}}
	tg.RestartPolicy = &api.RestartPolicy{Attempts: ptr(3), Interval: ptr(30 * time.Minute), Delay: ptr(15 * time.Second), Mode: ptr("delay")}
	tg.ReschedulePolicy = nil
	job.TaskGroups = []*api.TaskGroup{tg}
	return job, nil
}
