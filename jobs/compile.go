// Package jobs compiles evaluated backup specs into Nomad jobs.
//
// Compilation is pure: the same config and options give the same *api.Job
// values, and rendering them (render.go) gives the same bytes. Jobs carry no
// secret: credentials reach a task only through Nomad workload identity.
package jobs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// Meta keys vigil sets on every job it manages.
const (
	MetaManaged  = "vigil_managed"
	MetaBackup   = "vigil_backup"
	MetaType     = "vigil_type"
	MetaRole     = "vigil_role"
	MetaSpecHash = "vigil_spec_hash"
	MetaVersion  = "vigil_version"
	// MetaConfig is the configuration's ID: apply -prune stops only jobs
	// of its own configuration.
	MetaConfig = "vigil_config"
)

// Job ID prefixes.
const (
	BackupPrefix = "vigil-"
	VerifyPrefix = "vigil-verify-"
)

// ConfigPath is where the task finds its embedded config.
const ConfigPath = "local/vigil.json"

// Template delimiters that never occur in the embedded JSON, so Nomad's
// template engine copies it verbatim.
const (
	leftDelim  = "[[vigil:"
	rightDelim = ":vigil]]"
)

// Options are the inputs that do not come from the spec.
type Options struct {
	Version string
}

// Compile turns every backup into its Nomad jobs, sorted by job ID.
func Compile(cfg *config.Config, opts Options) ([]*api.Job, error) {
	// Backups compile independently (most of the time goes to encoding
	// and hashing each embedded config): spread them over the CPUs, and
	// keep the result in the spec's order.
	per := make([][]*api.Job, len(cfg.Backups))
	errs := make([]error, len(cfg.Backups))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				per[i], errs[i] = compileBackup(cfg, &cfg.Backups[i], opts)
			}
		}()
	}
	for i := range cfg.Backups {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []*api.Job
	for i := range per {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, per[i]...)
	}
	serve, err := CompileServe(cfg, opts)
	if err != nil {
		return nil, err
	}
	if serve != nil {
		out = append(out, serve)
	}
	sort.Slice(out, func(i, j int) bool { return *out[i].ID < *out[j].ID })
	return out, nil
}

// CompileBackup returns the jobs of one backup: its periodic backup job
// and, when it has a drill schedule, its vigil-verify job.
func CompileBackup(cfg *config.Config, name string, opts Options) ([]*api.Job, error) {
	src, err := cfg.Backup(name)
	if err != nil {
		return nil, err
	}
	return compileBackup(cfg, src, opts)
}

func compileBackup(cfg *config.Config, src *config.Backup, opts Options) ([]*api.Job, error) {
	name := src.Name
	embedded := embeddedConfig(cfg, src)
	b := &embedded.Backups[0]
	data, hash, err := encodeEmbedded(embedded)
	if err != nil {
		return nil, fmt.Errorf("jobs: compile %s: %w", name, err)
	}
	n := taskNomad(cfg, src.Nomad, identity(cfg, KindBackup, src))
	if err := checkCommand(BackupPrefix+name, n); err != nil {
		return nil, err
	}
	if err := checkLocalStorage(BackupPrefix+name, b, n); err != nil {
		return nil, err
	}
	job := newJob(BackupPrefix+name, cfg.ID, n, b, "backup", hash, opts)
	job.Periodic = periodic(b.Schedule, b.TimeZone)
	args := []string{"run", "-config", "${NOMAD_TASK_DIR}/vigil.json", "-backup", name}
	v := b.Verify
	afterBackup := v != nil && v.AfterBackup
	timeout := b.Timeout
	if afterBackup {
		args = append(args, "-verify")
		timeout += v.MaxDuration
	}
	tg := group("backup", n, cfg.Vault, timeout, data, args)
	mountStorage(tg, b, n, false)
	if afterBackup {
		if err := addScratch(tg, b, n); err != nil {
			return nil, err
		}
	}
	job.TaskGroups = []*api.TaskGroup{tg}
	out := []*api.Job{job}
	if v != nil && v.Schedule != "" {
		vj, err := verifyJob(cfg, b, taskNomad(cfg, src.Nomad, identity(cfg, KindDrill, src)), data, hash, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, vj)
	}
	return out, nil
}

// taskNomad is a job's Nomad settings as its task needs them: with a
// control Consul the task gets a consul block, so Nomad's workload identity
// gives it a Consul token for the locks, records and checks; it logs in to
// Vault as job j.
func taskNomad(cfg *config.Config, n config.Nomad, j JobIdentity) config.Nomad {
	if cfg.Consul.Enabled {
		n.ConsulIdentity = true
	}
	n.Address, n.TLS = "", nil // how vigil reaches Nomad, not the task's business
	n.VaultRole = VaultRole(j, cfg, n.VaultRole)
	return n
}

func periodic(spec, tz string) *api.PeriodicConfig {
	return &api.PeriodicConfig{
		Enabled:         ptr(true),
		Specs:           []string{spec},
		SpecType:        ptr(api.PeriodicSpecCron),
		ProhibitOverlap: ptr(true),
		TimeZone:        ptr(timeZone(tz)),
	}
}

// embeddedConfig is the config a job carries: one backup (which holds its
// storage), without the Nomad placement the run does not need.
func embeddedConfig(cfg *config.Config, b *config.Backup) *config.Config {
	one := cfg.SingleOf(b)
	one.Nomad = config.Nomad{}
	one.Backups[0].Nomad = config.Nomad{}
	one.Serve = config.Serve{}
	return one
}

func encodeEmbedded(c *config.Config) (string, string, error) {
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		return "", "", err
	}
	data := buf.String()
	if strings.Contains(data, leftDelim) || strings.Contains(data, rightDelim) {
		return "", "", fmt.Errorf("the config contains the template delimiter %q or %q", leftDelim, rightDelim)
	}
	sum := sha256.Sum256(buf.Bytes())
	return data, hex.EncodeToString(sum[:]), nil
}

func newJob(id, configID string, n config.Nomad, b *config.Backup, role, hash string, opts Options) *api.Job {
	job := &api.Job{
		ID:          ptr(id),
		Name:        ptr(id),
		Type:        ptr(api.JobTypeBatch),
		Datacenters: n.Datacenters,
		Meta: map[string]string{
			MetaManaged:  "true",
			MetaBackup:   b.Name,
			MetaType:     b.Type,
			MetaRole:     role,
			MetaSpecHash: hash,
			MetaVersion:  opts.Version,
			MetaConfig:   configID,
		},
	}
	if n.Region != "" {
		job.Region = ptr(n.Region)
	}
	if n.Namespace != "" {
		job.Namespace = ptr(n.Namespace)
	}
	if n.NodePool != "" {
		job.NodePool = ptr(n.NodePool)
	}
	if n.Priority != 0 {
		job.Priority = ptr(n.Priority)
	}
	for _, c := range n.Constraints {
		op := c.Operator
		if op == "" {
			op = "="
		}
		job.Constraints = append(job.Constraints, api.NewConstraint(c.Attribute, op, c.Value))
	}
	return job
}

// group builds the single task group of a vigil job. Restarts and
// reschedules are bounded: a backup that keeps failing must turn red, not
// loop; the Consul lock keeps retries from overlapping.
func group(name string, n config.Nomad, v config.Vault, timeout time.Duration, data string, args []string) *api.TaskGroup {
	task := &api.Task{
		Name:        "vigil",
		Driver:      n.Driver,
		Config:      taskConfig(n, args),
		KillTimeout: ptr(30 * time.Second),
		// The lock holder record names the node.
		Env:       taskEnv(n),
		Resources: &api.Resources{CPU: ptr(n.CPU), MemoryMB: ptr(n.MemoryMB)},
		Templates: []*api.Template{{
			EmbeddedTmpl: ptr(data),
			DestPath:     ptr(ConfigPath),
			ChangeMode:   ptr("noop"),
			LeftDelim:    ptr(leftDelim),
			RightDelim:   ptr(rightDelim),
		}},
	}
	if n.Artifact != "" && n.Driver != config.DriverDocker {
		a := &api.TaskArtifact{GetterSource: ptr(n.Artifact), RelativeDest: ptr("local/")}
		if n.ArtifactChecksum != "" {
			a.GetterOptions = map[string]string{"checksum": n.ArtifactChecksum}
		}
		task.Artifacts = []*api.TaskArtifact{a}
	}
	if n.VaultEnabled {
		// noop: a run keeps the token it started with instead of being restarted.
		task.Vault = &api.Vault{Role: n.VaultRole, ChangeMode: ptr("noop")}
		if v.Address != "" {
			task.Env["VAULT_ADDR"] = v.Address
		}
		if v.Namespace != "" {
			task.Env["VAULT_NAMESPACE"] = v.Namespace
		}
	}
	if n.ConsulIdentity {
		task.Consul = &api.Consul{}
	}
	tg := &api.TaskGroup{
		Name:  ptr(name),
		Count: ptr(1),
		RestartPolicy: &api.RestartPolicy{
			Attempts: ptr(1),
			Interval: ptr(timeout + time.Hour),
			Delay:    ptr(30 * time.Second),
			Mode:     ptr("fail"),
		},
		ReschedulePolicy: &api.ReschedulePolicy{
			Attempts:      ptr(1),
			Interval:      ptr(timeout + time.Hour),
			Delay:         ptr(time.Minute),
			DelayFunction: ptr("constant"),
			Unlimited:     ptr(false),
		},
		Tasks: []*api.Task{task},
	}
	mountVolumes(tg, n)
	return tg
}

// taskEnv is the spec's env with vigil's own variables over it.
func taskEnv(n config.Nomad) map[string]string {
	env := map[string]string{}
	for k, v := range n.Env {
		env[k] = v
	}
	// The lock holder record names the node.
	env["VIGIL_NODE"] = "${node.unique.name}"
	return env
}

// checkCommand refuses a task Nomad would accept but could not start: no
// image for docker, no command otherwise. The spec's checks catch these
// first; this keeps a job built another way from reaching Nomad so.
func checkCommand(id string, n config.Nomad) error {
	switch {
	case n.Driver == config.DriverDocker && n.Image == "":
		return fmt.Errorf("jobs: compile %s: the docker driver has no image to run", id)
	case n.Driver != config.DriverDocker && n.Binary == "" && n.Artifact == "":
		return fmt.Errorf("jobs: compile %s: the %s driver has no command to run (set binary or artifact)", id, n.Driver)
	}
	return nil
}

func taskConfig(n config.Nomad, args []string) map[string]any {
	argv := make([]any, len(args))
	for i, a := range args {
		argv[i] = a
	}
	if n.Driver == config.DriverDocker {
		c := map[string]any{"image": n.Image, "args": argv}
		if n.NetworkMode != "" {
			c["network_mode"] = n.NetworkMode
		}
		return c
	}
	command := n.Binary
	if n.Artifact != "" {
		command = "${NOMAD_TASK_DIR}/vigil"
	}
	return map[string]any{"command": command, "args": argv}
}

func timeZone(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}

func ptr[T any](v T) *T { return &v }
