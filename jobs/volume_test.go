package jobs

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
)

// A local storage under exec or docker is mounted from a host volume at
// its path, or refused: written without one, a backup would land inside
// the task's own filesystem and go with the allocation.
func TestLocalStorageUnderNomad(t *testing.T) {
	cfg := &config.Config{ID: "specs"}
	backup := func(driver, volume string) *config.Backup {
		return &config.Backup{Name: "kv", Type: config.TypeConsulKV, Schedule: "0 * * * *",
			Storage: config.Storage{Kind: config.StorageLocal, Name: "disk", Path: "/srv/backups", HostVolume: volume},
			Nomad:   config.Nomad{Driver: driver, Binary: "/usr/local/bin/vigil", Image: "vigil:test", CPU: 100, MemoryMB: 128}}
	}
	for _, driver := range []string{config.DriverExec, config.DriverDocker} {
		cfg.Backups = []config.Backup{*backup(driver, "")}
		if _, err := Compile(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "host_volume") {
			t.Errorf("%s without a host volume: %v", driver, err)
		}
		cfg.Backups = []config.Backup{*backup(driver, "nas")}
		jobs, err := Compile(cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		tg := jobs[0].TaskGroups[0]
		v := tg.Volumes[storageVolume]
		m := tg.Tasks[0].VolumeMounts
		if v == nil || v.Type != "host" || v.Source != "nas" || v.ReadOnly || len(m) != 1 || *m[0].Destination != "/srv/backups" || *m[0].Volume != storageVolume {
			t.Errorf("%s: volume %+v, mounts %+v", driver, v, m)
		}
	}
	cfg.Backups = []config.Backup{*backup(config.DriverRawExec, "")}
	if _, err := Compile(cfg, Options{}); err != nil {
		t.Errorf("raw_exec writes the node's folder: %v", err)
	}
	cfg.Backups = []config.Backup{*backup(config.DriverRawExec, "nas")}
	jobs, err := Compile(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tg := jobs[0].TaskGroups[0]; tg.Volumes[storageVolume] == nil || len(tg.Tasks[0].VolumeMounts) != 0 {
		t.Errorf("raw_exec: the volume places the job, and nothing is mounted: %+v %+v", tg.Volumes, tg.Tasks[0].VolumeMounts)
	}
}

// A drill mounts the storage read-only where its records go to the control
// Consul, and read-write in a standalone configuration, whose records it
// writes beside the backups.
func TestDrillStorageMount(t *testing.T) {
	for _, consul := range []bool{true, false} {
		cfg := &config.Config{ID: "specs", Consul: config.Control{Enabled: consul}, Nomad: config.Nomad{Driver: config.DriverExec, Binary: "/usr/local/bin/vigil"}}
		cfg.Backups = []config.Backup{{Name: "kv", Type: config.TypeConsulKV, Schedule: "0 * * * *",
			Storage: config.Storage{Kind: config.StorageLocal, Name: "disk", Path: "/srv/backups", HostVolume: "nas"},
			Nomad:   config.Nomad{Driver: config.DriverExec, Binary: "/usr/local/bin/vigil", CPU: 100, MemoryMB: 128},
			Verify:  &config.Verify{Schedule: "0 4 * * *", MaxDuration: time.Hour}}}
		jobs, err := Compile(cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, j := range jobs {
			if !strings.HasPrefix(*j.ID, VerifyPrefix) {
				continue
			}
			found = true
			tg := j.TaskGroups[0]
			m := tg.Tasks[0].VolumeMounts
			if tg.Volumes[storageVolume].ReadOnly != consul || len(m) != 1 || *m[0].ReadOnly != consul {
				t.Errorf("consul %v: drill volume %+v, mounts %+v", consul, tg.Volumes[storageVolume], m)
			}
		}
		if !found {
			t.Errorf("consul %v: no drill job", consul)
		}
	}
}

// The nomad block's host volumes are mounted beside a local storage's,
// and a docker drill refuses network_mode: its scratch Consul is only
// reachable inside the group's bridge network.
func TestNomadBlockMountsAndNetworkMode(t *testing.T) {
	n := config.Nomad{Driver: config.DriverDocker, Image: "vigil:test", CPU: 100, MemoryMB: 128, NetworkMode: "host",
		Env: map[string]string{"AWS_CA_BUNDLE": "/tls/ca.pem", "VIGIL_NODE": "spoofed"}, Mounts: []config.Mount{{Volume: "tls", Path: "/tls", ReadOnly: true}}}
	cfg := &config.Config{ID: "specs", Nomad: n}
	cfg.Backups = []config.Backup{{Name: "kv", Type: config.TypeConsulKV, Schedule: "0 * * * *",
		Storage: config.Storage{Kind: config.StorageLocal, Name: "disk", Path: "/srv/backups", HostVolume: "nas"}, Nomad: n}}
	jobs, err := Compile(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg := jobs[0].TaskGroups[0]
	task := tg.Tasks[0]
	if len(tg.Volumes) != 2 || tg.Volumes["mount-tls"].Source != "tls" || !tg.Volumes["mount-tls"].ReadOnly || tg.Volumes[storageVolume].Source != "nas" {
		t.Errorf("volumes: %+v", tg.Volumes)
	}
	if len(task.VolumeMounts) != 2 || task.Config["network_mode"] != "host" {
		t.Errorf("mounts %+v, config %+v", task.VolumeMounts, task.Config)
	}
	if task.Env["AWS_CA_BUNDLE"] != "/tls/ca.pem" || task.Env["VIGIL_NODE"] != "${node.unique.name}" {
		t.Errorf("env: the spec's, under vigil's own: %+v", task.Env)
	}
	cfg.Backups[0].Storage = config.Storage{Kind: config.StorageS3, Name: "s3", Bucket: "b"}
	cfg.Backups[0].Verify = &config.Verify{Schedule: "0 4 * * *", MaxDuration: time.Hour, Scratch: &config.Scratch{Image: "consul:test"}}
	if _, err := Compile(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "network_mode") {
		t.Errorf("a docker drill with network_mode: %v", err)
	}
}
