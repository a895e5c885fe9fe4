package jobs

import (
	"fmt"

	"github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// scratchMemoryMB is the least memory a drill's task gets: it runs a
// scratch Consul agent or etcd member beside vigil.
const scratchMemoryMB = 512

// verifyJob is the periodic restore drill of a backup, vigil-verify-<name>.
func verifyJob(cfg *config.Config, b *config.Backup, n config.Nomad, data, hash string, opts Options) (*api.Job, error) {
	job := newJob(VerifyPrefix+b.Name, cfg.ID, n, b, "verify", hash, opts)
	job.Periodic = periodic(b.Verify.Schedule, b.TimeZone)
	args := []string{"verify", "-config", "${NOMAD_TASK_DIR}/vigil.json", "-backup", b.Name, "-latest"}
	tg := group("verify", n, cfg.Vault, b.Verify.MaxDuration, data, args)
	// A drill only reads the backups, but a standalone one (no control
	// Consul) keeps its run records beside them.
	mountStorage(tg, b, n, cfg.Consul.Enabled)
	if err := addScratch(tg, b, n); err != nil {
		return nil, err
	}
	job.TaskGroups = []*api.TaskGroup{tg}
	return job, nil
}

// addScratch gives a drill's group what its scratch server needs. With the
// exec and raw_exec drivers the binary is fetched as an artifact into
// local/scratch/ (or found on the node). With docker, a Consul drill gets a
// sidecar task running the server image in the group's network namespace;
// the other types' drills cannot run that way, so they are refused.
func addScratch(tg *api.TaskGroup, b *config.Backup, n config.Nomad) error {
	if b.Type == config.TypeElasticsearch {
		return nil // restores into the configured cluster
	}
	if b.Type == config.TypeVaultRaft && !b.Verify.Vault.Unseals() {
		return nil // checks the archive only: no scratch server
	}
	task := tg.Tasks[0]
	if *task.Resources.MemoryMB < scratchMemoryMB {
		task.Resources.MemoryMB = ptr(scratchMemoryMB)
	}
	sc := config.Scratch{}
	if b.Verify.Scratch != nil {
		sc = *b.Verify.Scratch
	}
	if n.Driver != config.DriverDocker {
		if sc.Artifact != "" {
			task.Artifacts = append(task.Artifacts, &api.TaskArtifact{GetterSource: ptr(sc.Artifact), RelativeDest: ptr("local/scratch/")})
		}
		return nil
	}
	if b.Type != config.TypeConsulSnapshot && b.Type != config.TypeConsulKV {
		// Only Consul's scratch server runs as a sidecar image: etcdutl
		// restores into the data dir the member then starts on, and the
		// Nomad and Vault scratch servers are configured by the drill.
		return fmt.Errorf("jobs: compile %s: %s drills need the exec or raw_exec driver", b.Name, b.Type)
	}
	if n.NetworkMode != "" {
		return fmt.Errorf("jobs: compile %s: a docker drill runs its scratch Consul in the group's bridge network, and network_mode = %q would take vigil out of it; drop network_mode for this backup (its servers must then be reachable from the bridge network)", b.Name, n.NetworkMode)
	}
	if sc.Image == "" {
		return fmt.Errorf("jobs: compile %s: a docker drill needs verify { scratch { image = \"hashicorp/consul:...\" } }", b.Name)
	}
	tg.Networks = []*api.NetworkResource{{Mode: "bridge"}}
	task.Env["VIGIL_SCRATCH_CONSUL_ADDR"] = "127.0.0.1:8500"
	tg.Tasks = append(tg.Tasks, &api.Task{
		Name:      "scratch",
		Driver:    config.DriverDocker,
		Lifecycle: &api.TaskLifecycle{Hook: api.TaskLifecycleHookPrestart, Sidecar: true},
		Config: map[string]any{
			"image": sc.Image,
			"args":  []any{"agent", "-dev", "-client", "127.0.0.1", "-bind", "127.0.0.1"},
		},
		Resources: &api.Resources{CPU: ptr(200), MemoryMB: ptr(256)},
	})
	return nil
}
