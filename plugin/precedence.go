package plugin

import "os"

// Precedence is how a spec setting combines with what a client's
// DefaultConfig read from its CLI's environment variables.
type Precedence bool

const (
	// EnvOverSpec is for the clients vigil itself uses (the control
	// Consul, the Vault runs log in to, the Nomad plan and apply submit
	// to): flag > the CLI's variable > spec > default, as the nomad,
	// consul and vault CLIs order them.
	EnvOverSpec Precedence = true
	// SpecOverEnv is for a system a backup reads: the spec's address is
	// the backup's subject, and the operator's shell must not turn it into
	// a backup of another cluster.
	SpecOverEnv Precedence = false
)

// Set combines spec into *dst, which holds the environment's value.
func (p Precedence) Set(dst *string, spec string) {
	if p == EnvOverSpec {
		SetEmpty(dst, spec)
		return
	}
	SetIf(dst, spec)
}

// Address is the address to use from the variable env and the spec's
// address; "" leaves the client's default.
func (p Precedence) Address(env, spec string) string {
	v := os.Getenv(env)
	p.Set(&v, spec)
	return v
}

// SetIf sets *dst to v when v is not empty.
func SetIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// SetEmpty sets *dst to v when *dst is empty.
func SetEmpty(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}
