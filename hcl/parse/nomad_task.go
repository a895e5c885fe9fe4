package parse

import (
	"path/filepath"
	"regexp"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/vigil-backup/vigil/hcl/config"
)

// envName is what a POSIX shell takes as a variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// evalTask reads the settings that shape the task itself: network_mode,
// env and host_volume mounts.
func (l *nomadLayer) evalTask(e *evaluator) {
	r := l.raw
	if r.NetworkMode != nil {
		m := e.str(r.NetworkMode, "")
		l.networkMode = &m
	}
	if r.Env != nil {
		var env map[string]string
		if e.value(r.Env, &env) {
			names := make([]string, 0, len(env))
			for k := range env {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				switch {
				case !envName.MatchString(k):
					e.errorf(r.Env.Expr.Range(), "Invalid environment variable name", "%q is not a variable name: letters, digits and \"_\", not starting with a digit.", k)
				case secretEnvName(k) != "":
					e.errorf(r.Env.Expr.Range(), "Secret in env",
						"%q looks like a secret (%s); env is compiled into the Nomad job in clear text, so secrets must reach a run through Vault.", k, secretEnvName(k))
				}
			}
			l.env = env
		}
	}
	for _, v := range r.HostVolumes {
		if !filepath.IsAbs(v.Path) {
			e.errorf(v.DefRange, "Invalid host_volume path", "path is where the task sees the volume and must be absolute; got %q.", v.Path)
			continue
		}
		ro := true
		setIf(&ro, v.ReadOnly)
		l.mounts = append(l.mounts, config.Mount{Volume: v.Name, Path: filepath.Clean(v.Path), ReadOnly: ro})
	}
}

// mergeTask lays layer's task settings over n's: env key by key, mounts
// by path.
func (l *nomadLayer) mergeTask(n *config.Nomad) {
	setIf(&n.NetworkMode, l.networkMode)
	for k, v := range l.env {
		if n.Env == nil {
			n.Env = map[string]string{}
		}
		n.Env[k] = v
	}
	for _, m := range l.mounts {
		kept := n.Mounts[:0:0]
		for _, o := range n.Mounts {
			if o.Path != m.Path {
				kept = append(kept, o)
			}
		}
		n.Mounts = append(kept, m)
	}
}

// checkNetworkMode refuses network_mode outside the docker driver, where
// Nomad would reject the job.
func checkNetworkMode(e *evaluator, n config.Nomad, rng hcl.Range) {
	if n.NetworkMode != "" && n.Driver != config.DriverDocker {
		e.errorf(rng, "network_mode without docker driver", "network_mode only applies to the docker driver; this job uses %s.", n.Driver)
	}
}
