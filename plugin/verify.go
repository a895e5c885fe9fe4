package plugin

import (
	"context"
	"io"

	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
)

// Check is one assertion of a restore drill and what it found.
type Check struct {
	Name   string
	Passed bool
	Detail string
}

// VerifyResult is what a drill checked.
type VerifyResult struct {
	Checks []Check
	// Values are the figures read (keys restored, documents per index).
	Values map[string]any
}

// Failed returns the checks that did not pass.
func (r *VerifyResult) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.Passed {
			out = append(out, c)
		}
	}
	return out
}

// VerifyOptions tune a drill.
type VerifyOptions struct {
	// Scratch locates the scratch server's binaries (nil: defaults).
	Scratch *config.Scratch
	// TempDir holds the drill's scratch data; "" is the system's.
	TempDir string
	// Path, when set, is a local copy of the bytes r gives, already
	// checked: a target that restores from a file uses it instead of
	// copying r again.
	Path string
	Log  hclog.Logger
}

// Verifier restores a backup into a scratch place the drill owns, runs the
// spec's assertions and removes the scratch copy on every path.
//
// Error contract: the error is non-nil when the drill could not run (the
// restore failed); failed assertions are reported in the result's Checks.
type Verifier interface {
	Verify(ctx context.Context, r io.Reader, v *config.Verify, opts VerifyOptions) (*VerifyResult, error)
}

// Checker is implemented by targets that can check a backup's own
// integrity offline, before any restore: the Consul snapshot archive's
// SHA256SUMS, etcd's sha256 trailer.
type Checker interface {
	CheckOffline(ctx context.Context, r io.Reader) error
}
